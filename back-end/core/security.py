"""Bearer tokens: HS256 JWTs signed with `JWT_SECRET`, claim `sub` = user id, optional `role`."""

import time
from dataclasses import dataclass
from typing import Any

import jwt

from core.errors import Unauthorized

JWT_ALGORITHM = "HS256"
"""The only algorithm accepted; pinned so a token cannot choose its own (e.g. `none`)."""

JWT_LEEWAY_S = 30
"""Clock skew tolerated on `exp`, `nbf` and `iat`."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's `sub` and `role`."""

    user_id: str
    role: str | None = None


def decode_token(token: str, secret: bytes) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], leeway=JWT_LEEWAY_S, options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token_expired", "The token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("invalid_token", "The token is not valid.") from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("invalid_token", "The token has no subject.")
    role = claims.get("role")
    return Principal(user_id=subject, role=role if isinstance(role, str) else None)


def create_token(secret: bytes, user_id: str, role: str | None = None, ttl_s: int = 3600) -> str:
    """A token for tools and tests (the demo, benchmarks); production tokens come from the identity provider."""

    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl_s}
    if role:
        claims["role"] = role
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)
