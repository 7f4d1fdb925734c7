"""`core.security`: HS256 bearer tokens turned into a Principal, or Unauthorized."""

import base64
import json
import time

import jwt
import pytest

from core.errors import Unauthorized
from core.security import JWT_LEEWAY_S, Principal, create_token, decode_token

# PyJWT warns (an error here) about HMAC keys shorter than the hash: 32 bytes for HS256, 64 for HS512.
SECRET = b"jwt-secret-for-unit-tests-0123456789abcdef"
OTHER_SECRET = b"a-completely-different-secret-0123456789"
LONG_SECRET = SECRET * 2


def claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "user-1", "iat": now, "exp": now + 3600, **extra}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_refused(token: str, code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        decode_token(token, SECRET)
    assert caught.value.code == code
    assert caught.value.status_code == 401


def test_created_token_decodes_to_its_principal() -> None:
    assert decode_token(create_token(SECRET, "user-1", role="admin"), SECRET) == Principal("user-1", "admin")


def test_token_without_role_has_no_role() -> None:
    assert decode_token(create_token(SECRET, "user-2"), SECRET) == Principal("user-2", None)


def test_created_token_is_hs256_with_expiry() -> None:
    token = create_token(SECRET, "user-1", ttl_s=60)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert payload["sub"] == "user-1"
    assert payload["exp"] - payload["iat"] == 60


def test_non_string_role_is_dropped() -> None:
    token = jwt.encode(claims(role=["admin"]), SECRET, algorithm="HS256")
    assert decode_token(token, SECRET) == Principal("user-1", None)


def test_token_expired_within_the_leeway_is_still_accepted() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - JWT_LEEWAY_S // 3), SECRET, algorithm="HS256")
    assert decode_token(token, SECRET).user_id == "user-1"


def test_token_expired_beyond_the_leeway_is_refused() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - JWT_LEEWAY_S - 60), SECRET, algorithm="HS256")
    assert_refused(token, "token_expired")


def test_created_token_with_negative_ttl_is_expired() -> None:
    assert_refused(create_token(SECRET, "user-1", ttl_s=-(JWT_LEEWAY_S + 60)), "token_expired")


def test_token_signed_with_another_secret_is_refused() -> None:
    assert_refused(create_token(OTHER_SECRET, "user-1"), "invalid_token")


def test_unsigned_alg_none_token_is_refused() -> None:
    token = jwt.encode(claims(), "", algorithm=None)
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert_refused(token, "invalid_token")


def test_hand_made_alg_none_token_is_refused() -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    assert_refused(f"{header}.{payload}.", "invalid_token")


def test_hs512_token_is_refused_even_with_the_right_secret() -> None:
    token = jwt.encode(claims(), LONG_SECRET, algorithm="HS512")
    with pytest.raises(Unauthorized) as caught:
        decode_token(token, LONG_SECRET)
    assert caught.value.code == "invalid_token"


def test_token_without_subject_is_refused() -> None:
    payload = claims()
    del payload["sub"]
    assert_refused(jwt.encode(payload, SECRET, algorithm="HS256"), "invalid_token")


def test_token_with_empty_subject_is_refused() -> None:
    assert_refused(jwt.encode(claims(sub=""), SECRET, algorithm="HS256"), "invalid_token")


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_refused(token: str) -> None:
    assert_refused(token, "invalid_token")


def test_a_token_without_expiry_is_refused() -> None:
    import jwt as pyjwt

    secret = b"s" * 32
    token = pyjwt.encode({"sub": "alice"}, secret, algorithm="HS256")

    with pytest.raises(Unauthorized) as refused:
        decode_token(token, secret)

    assert refused.value.code == "invalid_token"
