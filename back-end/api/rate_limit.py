"""Per-user upload rate limit (UPLOAD_RATE_LIMIT, e.g. "30/minute"): a moving window in Redis, by `limits`.

Over the limit: 429 with Retry-After. Without Redis the limit is not enforced (uploads then fall back to the API
process, or are refused, by the dispatch rules): a rate limiter must not become the outage.
"""

import logging
import math
import time
from functools import cache

from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import ConnectionPool
from redis.exceptions import RedisError

from api.deps import CurrentUser, SettingsDep
from core.errors import TooManyRequests
from queueing.connection import get_redis

log = logging.getLogger(__name__)


@cache
def _limiter(pool: ConnectionPool) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(RedisStorage("redis://", connection_pool=pool))


@cache
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


def enforce_upload_rate(user: CurrentUser, settings: SettingsDep) -> None:
    item = _item(settings.upload_rate_limit)
    try:
        limiter = _limiter(get_redis(settings).connection_pool)
        if limiter.hit(item, "upload", user.user_id):
            return
        reset_at = limiter.get_window_stats(item, "upload", user.user_id).reset_time
    except RedisError as exc:
        log.warning("upload rate limit not enforced: Redis unreachable (%r)", exc)
        return
    raise TooManyRequests(
        "rate_limited",
        f"At most {settings.upload_rate_limit} uploads per user; try again shortly.",
        retry_after_s=max(1, math.ceil(reset_at - time.time())),
    )
