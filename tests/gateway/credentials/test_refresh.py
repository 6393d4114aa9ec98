"""The pure half of token refresh coordination: reading tokens, the lock annotation, the decision, write-back data."""

from __future__ import annotations

import base64

import orjson

from gateway.credentials.refresh import Decision, LocalTokenRefresher, RefreshLock, decide, format_lock, parse_lock
from gateway.credentials.secret_format import Tokens, parse_expiry, secret_data_with, tokens_from_keys

NOW = 1_900_000_000.0
OLD = Tokens(access_token="old-access", account_id="acct", refresh_token="old-refresh", expires_at=NOW + 30)
NEW = Tokens(access_token="new-access", account_id="acct", refresh_token="new-refresh", expires_at=NOW + 3600)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_lock_annotation_round_trips_and_malformed_values_are_no_lock() -> None:
    lock = RefreshLock(holder="aliasgate-gateway-7d9c-x/1", until=NOW)
    assert format_lock(lock) == "aliasgate-gateway-7d9c-x/1/2030-03-17T17:46:40Z"
    assert parse_lock(format_lock(lock)) == lock
    for bad in (None, "", "no-slash", "/2030-03-17T17:46:40Z", "pod/not-a-time"):
        assert parse_lock(bad) is None


def mine(secret: Tokens | None, lock: RefreshLock | None, stale: str = "old-access", holder: str = "me") -> Decision:
    return decide(secret, lock, stale_access_token=stale, holder=holder, now=NOW, margin_seconds=300.0)


def test_decide_adopts_newer_valid_secret_tokens() -> None:
    assert mine(NEW, None) is Decision.ADOPT
    assert mine(NEW, RefreshLock("other", NOW + 10)) is Decision.ADOPT  # tokens beat locks
    assert mine(OLD, None) is Decision.TAKE  # the Secret holds the token that is due: refresh
    assert mine(OLD, None, stale="older") is Decision.TAKE  # newer, but due as well
    assert mine(None, None) is Decision.TAKE


def test_decide_waits_for_a_live_lock_of_another_holder_only() -> None:
    assert mine(OLD, RefreshLock("other", NOW + 5)) is Decision.WAIT
    assert mine(OLD, RefreshLock("other", NOW - 1)) is Decision.TAKE  # holder died, claim ran out
    assert mine(OLD, RefreshLock("me", NOW + 5)) is Decision.TAKE  # our own leftover


def test_tokens_come_from_flat_keys_with_expiry_in_either_format() -> None:
    tokens = tokens_from_keys({"accessToken": "a", "accountId": "acct", "expiresAt": "2030-03-17T17:46:40Z"})
    assert tokens is not None
    assert tokens.expires_at == NOW
    assert tokens.refresh_token is None
    assert parse_expiry(str(int(NOW))) == NOW
    assert parse_expiry("2030-03-17T17:46:40") == NOW  # naive means UTC
    assert tokens_from_keys({"accessToken": "a"}) is None  # no account anywhere
    assert tokens_from_keys(None) is None
    assert "new-access" not in repr(NEW)
    assert "new-refresh" not in repr(NEW)


def test_flat_secret_data_keeps_its_expiry_style_and_other_keys() -> None:
    data = {"accessToken": b64("old-access"), "accountId": b64("acct"), "refreshToken": b64("old-refresh")}
    epoch = secret_data_with(data | {"expiresAt": b64(str(int(NOW)))}, NEW, now=NOW)
    assert epoch is not None
    assert unb64(epoch) == {
        "accessToken": "new-access",
        "accountId": "acct",
        "refreshToken": "new-refresh",
        "expiresAt": str(int(NOW + 3600)),
    }
    rfc = secret_data_with(data, NEW, now=NOW)
    assert rfc is not None
    assert unb64(rfc)["expiresAt"] == "2030-03-17T18:46:40Z"
    assert secret_data_with({"apiKey": b64("sk")}, NEW, now=NOW) is None


def test_auth_json_secret_data_is_updated_in_place() -> None:
    auth = {"OPENAI_API_KEY": None, "tokens": {"access_token": "old-access", "account_id": "acct"}, "x": 1}
    written = secret_data_with({"auth.json": b64(orjson.dumps(auth).decode())}, NEW, now=NOW)
    assert written is not None
    assert set(written) == {"auth.json"}
    doc = orjson.loads(unb64(written)["auth.json"])
    assert doc["tokens"] == {"access_token": "new-access", "account_id": "acct", "refresh_token": "new-refresh"}
    assert doc["x"] == 1
    assert doc["last_refresh"] == "2030-03-17T17:46:40Z"
    assert secret_data_with({"auth.json": b64("not json")}, NEW, now=NOW) is None


async def test_the_local_refresher_mints_with_the_current_refresh_token() -> None:
    used: list[str] = []

    async def mint(refresh_token: str) -> Tokens | None:
        used.append(refresh_token)
        return NEW

    refresher = LocalTokenRefresher()
    outcome = await refresher.refresh("s", OLD, mint, margin_seconds=300)
    assert (outcome.tokens, outcome.result, used) == (NEW, "refreshed", ["old-refresh"])
    no_refresh = Tokens(access_token="a", account_id="acct")
    assert (await refresher.refresh("s", no_refresh, mint, margin_seconds=300)).result == "failed"
    assert used == ["old-refresh"]
