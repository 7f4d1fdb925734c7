"""What every benchmark shares: the real stack started in a fresh DATA_DIR, tokens, percentiles, process memory."""

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "back-end"))
sys.path.append(str(REPO_ROOT))  # samples.recordings

from core.security import create_token  # noqa: E402
from core.settings import Settings  # noqa: E402
from queueing.embedded_redis import free_port  # noqa: E402
from samples.recordings import CACHE_DIR, ground_truth, recording  # noqa: E402
from stack import running_stack  # noqa: E402

SAMPLES = REPO_ROOT / "samples"
JFK = REPO_ROOT.parent / "shared" / "audio" / "jfk.flac"
"""Real human speech, on the team's machines only (never copied into the project)."""
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
)

BENCH_LIMITS = {"QUEUE_MAX_LENGTH": "1000000", "UPLOAD_RATE_LIMIT": "1000000/minute"}
"""A benchmark measures the system, not its guards against abuse."""


@dataclass(frozen=True)
class RunningStack:
    url: str
    settings: Settings

    def token(self, user: str = "bench") -> str:
        return create_token(self.settings.secret("jwt_secret"), user)

    def headers(self, user: str = "bench") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def api_pid(self) -> int:
        """The uvicorn process serving this stack."""
        port = f"--port {self.settings.port}"
        for process in psutil.process_iter(["pid", "cmdline"]):
            if port in " ".join(process.info["cmdline"] or []) and "uvicorn" in " ".join(process.info["cmdline"]):
                return int(process.info["pid"])
        raise LookupError("no API process")


@contextlib.contextmanager
def bench_stack(workers: int = 1, **env: str) -> Iterator[RunningStack]:
    """Embedded Redis, the API and `workers` RQ workers (none: 0) in a fresh DATA_DIR, with `env` set."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    settings_env = {**BENCH_LIMITS, "WORKER_COUNT": str(max(1, workers)), **env}
    saved = {name: os.environ.get(name) for name in settings_env}
    os.environ.update(settings_env)
    try:
        settings = Settings(data_dir=data_dir, port=free_port())
        with running_stack(settings, log_dir=data_dir / "logs", with_workers=workers > 0) as url:
            yield RunningStack(url, settings)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def speech_clip() -> Path:
    """About 11 s of one speaker: ../shared/audio/jfk.flac (real speech) where it is, else the project's own
    `short_english` (espeak-ng, samples/recordings.json; generated into .cache/test-audio/ on first use)."""
    return JFK if JFK.exists() else recording("short_english")


def clip_name(path: Path) -> str:
    """How a clip is named in a table: a generated recording by its name, without its cache key."""
    return f"{ground_truth(path)['name']}{path.suffix}" if path.parent == CACHE_DIR else path.name


def speech_note(path: Path) -> str:
    """For a benchmark's header: which speech clip was measured, and why."""
    if path == JFK:
        return f"{JFK.name} (real speech, ../shared/audio)"
    return f"{clip_name(path)} (generated espeak-ng speech: ../shared/audio/{JFK.name} is not here)"


def reference_text(path: Path) -> str:
    """What a clip says: jfk.flac's text, a sample's .txt, or a generated recording's sidecar."""
    if path == JFK:
        return JFK_REFERENCE
    if path.parent == CACHE_DIR:
        return str(ground_truth(path)["text"])
    return path.with_suffix(".txt").read_text().strip()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = psutil.virtual_memory().total / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
        f"commit {commit.stdout.strip() or '?'}"
    )
