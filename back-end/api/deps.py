"""What handlers depend on, as `Annotated` aliases: settings, a database session, the calling user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Cookie, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import Forbidden, Unauthorized
from core.security import Principal, decode_token
from core.settings import Settings, get_settings
from db.engine import open_session

SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False)


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with open_session(settings.sqlalchemy_url) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing_token", "An 'Authorization: Bearer <token>' header is required.")
    return decode_token(credentials.credentials, settings.secret("jwt_secret"))


CurrentUser = Annotated[Principal, Depends(get_current_user)]

ACCESS_TOKEN_COOKIE = "access_token"  # noqa: S105 (a cookie name, not a secret)
"""The upload page's copy of the token, for what a browser fetches without headers (EventSource, downloads)."""


def get_current_reader(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[str | None, Cookie(alias=ACCESS_TOKEN_COOKIE)] = None,
) -> Principal:
    """Like CurrentUser, but also from the page's cookie: only for reads (SameSite=Strict keeps other sites out)."""
    if credentials is None and access_token:
        return decode_token(access_token, settings.secret("jwt_secret"))
    return get_current_user(settings, credentials)


CurrentReader = Annotated[Principal, Depends(get_current_reader)]

ADMIN_ROLE = "admin"


def get_admin_user(user: CurrentUser) -> Principal:
    if user.role != ADMIN_ROLE:
        raise Forbidden("admin_only", "This needs the admin role.")
    return user


AdminUser = Annotated[Principal, Depends(get_admin_user)]
