"""What every storage backend offers: put a stream, fetch to a file, delete; objects are named by URL."""

from pathlib import Path
from typing import BinaryIO, Protocol

COPY_CHUNK_BYTES = 1024 * 1024
"""Uploads move to storage in chunks of this size, never whole in memory."""


class ObjectNotFound(Exception):
    """Raised when a stored object the caller names does not exist (deleted, or another store)."""


class Storage(Protocol):
    scheme: str
    """URL scheme of the objects this backend holds (`local`, `s3`)."""

    def url(self, key: str) -> str:
        """The URL an object stored under `key` has (whether or not it exists)."""
        ...

    def put(self, key: str, source: BinaryIO) -> str:
        """Store the stream under `key` and return the object's URL."""
        ...

    def fetch(self, url: str, destination: Path) -> None:
        """Copy the object to a local file; raise ObjectNotFound if it is not there."""
        ...

    def delete(self, url: str) -> None:
        """Remove the object; no error if it is already gone."""
        ...
