"""The Redis connection of the API and the workers, with bounded timeouts so nobody hangs on a dead Redis."""

from functools import cache

from redis import Redis

from core.settings import Settings
from queueing.embedded_redis import embedded_redis_url, ensure_embedded_redis

CONNECT_TIMEOUT_S = 2.0
"""How long the API waits to connect to Redis before answering 503."""

SOCKET_TIMEOUT_S = 5.0
"""How long the API waits for one Redis reply."""


def redis_url_without_starting(settings: Settings) -> str:
    """The URL `redis_url` gives, without starting the embedded server (for config read at import)."""
    return settings.external_redis_url or embedded_redis_url(settings.data_dir / "redis")


def redis_url(settings: Settings) -> str:
    """REDIS_URL, else REDIS_HOST & co., else the embedded server under DATA_DIR (started if needed)."""
    return settings.external_redis_url or ensure_embedded_redis(settings.data_dir / "redis")


@cache
def _client(url: str, socket_timeout: float | None) -> Redis:
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=socket_timeout,
        health_check_interval=30,
    )


def get_redis(settings: Settings) -> Redis:
    """A pooled client for request handlers (short timeouts)."""
    return _client(redis_url(settings), SOCKET_TIMEOUT_S)


def get_worker_redis(settings: Settings) -> Redis:
    """A client for RQ workers: no read timeout, since RQ blocks on dequeue and sets its own."""
    return _client(redis_url(settings), None)
