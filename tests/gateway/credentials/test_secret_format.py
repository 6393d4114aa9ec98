"""A credentials Secret's format, read and written by one module: what is read back is what was written."""

from __future__ import annotations

import base64
import pathlib

import orjson

from gateway.credentials.files import DirectoryCredentialStore
from gateway.credentials.secret_format import (
    Tokens,
    secret_data_with,
    secret_values,
    tokens_from_keys,
    with_auth_json_expanded,
)

NOW = 1_900_000_000.0
AUTH_JSON = orjson.dumps(
    {
        "OPENAI_API_KEY": None,
        "tokens": {"access_token": "a0", "account_id": "acct", "refresh_token": "r0", "id_token": "i0"},
        "last_refresh": "2030-01-01T00:00:00Z",
        "expires_at": int(NOW + 60),
    }
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_api_secret_data_and_string_data_are_read_and_auth_json_expanded() -> None:
    values, undecodable = secret_values(
        {
            "metadata": {"name": "s"},
            "data": {"auth.json": b64(AUTH_JSON), "bad": "%%%", "accountId": b64(b"flat-wins")},
            "stringData": {"extra": "text"},
        }
    )
    assert undecodable == ["bad"]
    assert "auth.json" not in values  # replaced by the flat keys it holds, as for a mounted folder
    assert values["accessToken"] == "a0"
    assert values["refreshToken"] == "r0"
    assert values["accountId"] == "flat-wins"
    assert values["extra"] == "text"
    assert values["expiresAt"] == str(int(NOW + 60))


def test_a_mounted_folder_and_the_api_object_read_the_same_keys(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "chatgpt"
    folder.mkdir()
    (folder / "auth.json").write_bytes(AUTH_JSON)
    (folder / "apiKey").write_text("sk-1\n")
    store = DirectoryCredentialStore(tmp_path)
    store.want(["anything"])  # a folder store reads every Secret anyway
    from_api, _ = secret_values({"data": {"auth.json": b64(AUTH_JSON), "apiKey": b64(b"sk-1")}})
    assert store.get("chatgpt") == from_api


def test_refreshed_tokens_written_into_auth_json_read_back_as_written() -> None:
    data = {"auth.json": b64(AUTH_JSON)}
    fresh = Tokens(access_token="a1", account_id="acct", refresh_token="r1", expires_at=NOW + 3600, id_token="i1")
    written = secret_data_with(data, fresh, now=NOW)
    assert written is not None
    values, _ = secret_values({"data": written})
    assert tokens_from_keys(values) == fresh
    doc = orjson.loads(base64.b64decode(written["auth.json"]))
    assert doc["OPENAI_API_KEY"] is None  # every other field kept


def test_refreshed_tokens_written_into_flat_keys_read_back_as_written() -> None:
    data = {k: b64(v.encode()) for k, v in {"accessToken": "a0", "accountId": "acct", "refreshToken": "r0"}.items()}
    fresh = Tokens(access_token="a1", account_id="acct", refresh_token="r1", expires_at=NOW + 3600)
    written = secret_data_with(data, fresh, now=NOW)
    assert written is not None
    assert tokens_from_keys(secret_values({"data": written})[0]) == fresh


def test_expansion_leaves_keys_without_auth_json_alone() -> None:
    assert with_auth_json_expanded({"apiKey": "k"}) == {"apiKey": "k"}
