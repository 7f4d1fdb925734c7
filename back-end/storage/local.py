"""Files in a local (or shared, mounted) directory: `local://<key>` under LOCAL_STORAGE_DIR."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from storage.base import COPY_CHUNK_BYTES, ObjectNotFound

SCHEME = "local"


class LocalStorage:
    scheme = SCHEME

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def url(self, key: str) -> str:
        return f"{SCHEME}://{key}"

    def put(self, key: str, source: BinaryIO) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".part") as draft:
            shutil.copyfileobj(source, draft, COPY_CHUNK_BYTES)
        os.replace(draft.name, path)  # readers never see a half-written file
        return self.url(key)

    def fetch(self, url: str, destination: Path) -> None:
        try:
            shutil.copyfile(self._path(self._key(url)), destination)
        except FileNotFoundError as exc:
            raise ObjectNotFound(url) from exc

    def delete(self, url: str) -> None:
        self._path(self._key(url)).unlink(missing_ok=True)

    def _key(self, url: str) -> str:
        prefix = f"{SCHEME}://"
        if not url.startswith(prefix):
            raise ObjectNotFound(url)
        return url.removeprefix(prefix)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path
