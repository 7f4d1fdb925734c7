"""What handlers depend on, as `Annotated` aliases: settings, a database session, the calling user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import Unauthorized
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
