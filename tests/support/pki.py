"""Throwaway certificates for loopback test servers, made with the ``openssl`` command line tool.

A CA, then leaf certificates it signs: serving certificates with IP/DNS subject alternative names (an API
server, a webhook) and client certificates whose subject is a Kubernetes identity (``CN`` = user name,
``O`` = groups). Keys are ECDSA P-256 except the service-account signing key (RSA, what every
Kubernetes token verifier accepts). Files are written 0600 into a 0700 folder. Standard library only.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CertificateAuthority", "KeyPair", "new_ca", "rsa_key_pair"]

DAYS = "3"


@dataclass(frozen=True)
class KeyPair:
    """A certificate (or public key) file and its private key file."""

    cert: Path
    key: Path


def _openssl(*args: str, stdin: bytes | None = None) -> None:
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")


def _private(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _subject(common_name: str, organizations: Sequence[str]) -> str:
    return "".join(f"/O={org}" for org in organizations) + f"/CN={common_name}"


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA that signs leaf certificates into its folder."""

    folder: Path
    pair: KeyPair

    @property
    def cert(self) -> Path:
        return self.pair.cert

    def pem(self) -> bytes:
        return self.pair.cert.read_bytes()

    def issue(
        self,
        name: str,
        *,
        common_name: str,
        organizations: Sequence[str] = (),
        ips: Sequence[str] = (),
        dns: Sequence[str] = (),
        client: bool = False,
    ) -> KeyPair:
        """A leaf certificate ``<name>.crt``/``<name>.key``: serving when it has SANs, client when ``client``."""
        key, csr, cert = (self.folder / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", _subject(common_name, organizations),
        )  # fmt: skip
        usages = (["serverAuth"] if ips or dns else []) + (["clientAuth"] if client else [])
        extensions = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={','.join(usages or ['serverAuth'])}",
        ]
        sans = [f"IP:{ip}" for ip in ips] + [f"DNS:{name}" for name in dns]
        if sans:
            extensions.append(f"subjectAltName={','.join(sans)}")
        extfile = self.folder / f"{name}.ext"
        extfile.write_text("\n".join(extensions) + "\n")
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.pair.cert), "-CAkey", str(self.pair.key),
            "-CAcreateserial", "-days", DAYS, "-sha256", "-extfile", str(extfile), "-out", str(cert),
        )  # fmt: skip
        csr.unlink()
        extfile.unlink()
        key.chmod(0o600)
        return KeyPair(cert=cert, key=key)


def new_ca(folder: Path, common_name: str = "aliasgate-test-ca") -> CertificateAuthority:
    """A fresh self-signed CA in ``folder`` (created 0700)."""
    _private(folder)
    key, cert = folder / "ca.key", folder / "ca.crt"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", DAYS, "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    key.chmod(0o600)
    return CertificateAuthority(folder=folder, pair=KeyPair(cert=cert, key=key))


def rsa_key_pair(folder: Path, name: str) -> KeyPair:
    """An RSA 2048 private key ``<name>.key`` and its public key ``<name>.pub`` (service-account tokens)."""
    _private(folder)
    key, pub = folder / f"{name}.key", folder / f"{name}.pub"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    key.chmod(0o600)
    _openssl("pkey", "-in", str(key), "-pubout", "-out", str(pub))
    return KeyPair(cert=pub, key=key)
