"""Whisper models as openai-whisper checkpoints, so that both engines run the same weights, and nothing is downloaded.

The openai-whisper engine runs the models faster-whisper runs (`stt.models`: base, tiny.en, any CTranslate2 model
directory) by converting them: `model.bin` is read with numpy (`stt.ctranslate2_model_file`), its variables are
renamed and split into openai-whisper's `state_dict`, and `{"dims": ..., "model_state_dict": ...}` is written
with `torch.save`, which `whisper.load_model(path)` loads. Each model is converted once, into
DATA_DIR/models/openai-whisper/ (on first use, or ahead by `python -m stt.openai_whisper_checkpoint`, which
`make openai-whisper` runs). Besides, `STT_MODEL` may name one of openai-whisper's own models (`small`, `base.en`,
…) already in its cache, or give the path of a checkpoint file.

What differs between the two layouts:
- CTranslate2 fuses projections: a self-attention's `linear_0` is query, key and value stacked; a cross-attention's
  `linear_0` is the query and `linear_1` key and value. openai-whisper's key has no bias (CTranslate2 stores zeros).
- Layer norms are `gamma`/`beta` there, `weight`/`bias` here; `ffn/linear_0|1` are `mlp.0|2`.
- The dimensions come from the variables' shapes; the vocabulary's size tells openai-whisper whether the model is
  multilingual (51865 and more: base, with 99 languages) or English-only (51864: tiny.en).
- The alignment heads (cross-attention heads that follow the words, for word timestamps) live in `config.json`;
  openai-whisper keeps them out of the checkpoint, so `model_alignment_heads()` gives them for
  `set_alignment_heads`.
"""

import base64
import gzip
import hashlib
import json
import logging
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stt.ctranslate2_model_file import ModelFile, ModelFileError, read_model_file
from stt.models import BASE, SHIPPED_MODELS, TINY_EN, ModelRef, ModelUnavailable, exclusive, resolve_model

log = logging.getLogger(__name__)

Array = npt.NDArray[np.generic]

CHECKPOINT_DIR = Path("models") / "openai-whisper"
"""Where converted checkpoints go, under DATA_DIR."""

INSTALL_HINT = "STT_ENGINE=openai-whisper needs the optional install: `make openai-whisper`"

CONVERTER_REVISION = 1
"""Part of every checkpoint's name: raise it when `convert` changes, so that every model converts again."""


class ConversionError(ValueError):
    """Raised when a CTranslate2 model cannot be expressed as an openai-whisper checkpoint."""


@dataclass(frozen=True)
class ModelDimensions:
    """openai-whisper's `ModelDimensions`, field for field (its loader takes them as a plain dict)."""

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


@dataclass(frozen=True)
class Checkpoint:
    dims: ModelDimensions
    state_dict: dict[str, Array]
    """openai-whisper's parameter names → arrays, in the dtype the CTranslate2 model stored them."""


def convert(model: ModelFile) -> Checkpoint:
    """The openai-whisper checkpoint holding the weights of a CTranslate2 `WhisperSpec` model."""
    if model.spec != "WhisperSpec":
        raise ConversionError(f"not a Whisper model: the spec is {model.spec!r}")
    v = model.variables
    try:
        dims = _dimensions(v)
        state: dict[str, Array] = {
            "encoder.conv1.weight": v["encoder/conv1/weight"],
            "encoder.conv1.bias": v["encoder/conv1/bias"],
            "encoder.conv2.weight": v["encoder/conv2/weight"],
            "encoder.conv2.bias": v["encoder/conv2/bias"],
            "encoder.positional_embedding": v["encoder/position_encodings/encodings"],
            **_layer_norm(v, "encoder/layer_norm", "encoder.ln_post"),
            "decoder.token_embedding.weight": v["decoder/embeddings/weight"],
            "decoder.positional_embedding": v["decoder/position_encodings/encodings"],
            **_layer_norm(v, "decoder/layer_norm", "decoder.ln"),
        }
        for i in range(dims.n_audio_layer):
            ct2, ow = f"encoder/layer_{i}", f"encoder.blocks.{i}"
            state |= _attention(v, f"{ct2}/self_attention", f"{ow}.attn", cross=False)
            state |= _layer_norm(v, f"{ct2}/self_attention/layer_norm", f"{ow}.attn_ln")
            state |= _feed_forward(v, f"{ct2}/ffn", ow)
        for i in range(dims.n_text_layer):
            ct2, ow = f"decoder/layer_{i}", f"decoder.blocks.{i}"
            state |= _attention(v, f"{ct2}/self_attention", f"{ow}.attn", cross=False)
            state |= _layer_norm(v, f"{ct2}/self_attention/layer_norm", f"{ow}.attn_ln")
            state |= _attention(v, f"{ct2}/attention", f"{ow}.cross_attn", cross=True)
            state |= _layer_norm(v, f"{ct2}/attention/layer_norm", f"{ow}.cross_attn_ln")
            state |= _feed_forward(v, f"{ct2}/ffn", ow)
    except KeyError as missing:
        raise ConversionError(f"the model has no variable {missing}") from None
    for name, array in state.items():
        if array.dtype.kind != "f":
            raise ConversionError(f"{name} is {array.dtype}: only float models convert (not quantized ones)")
    return Checkpoint(dims, state)


def alignment_heads(pairs: list[list[int]], text_layers: int, text_heads: int) -> bytes:
    """`config.json`'s alignment heads ([layer, head] pairs) in the form `Whisper.set_alignment_heads` takes."""
    mask = np.zeros((text_layers, text_heads), dtype=bool)
    for layer, head in pairs:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write `checkpoint` as `whisper.load_model` reads it, atomically (a reader never sees half a file)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    state = {name: torch.from_numpy(array.copy()) for name, array in checkpoint.state_dict.items()}
    torch.save({"dims": asdict(checkpoint.dims), "model_state_dict": state}, draft)
    os.replace(draft, path)


def checkpoint_path(model: ModelRef, data_dir: Path) -> Path:
    """Where the checkpoint of `model` (a CTranslate2 directory) goes under `data_dir`: named after the model and a
    fingerprint of its model.bin (where it is, its size and time), so that another model, or the same one installed
    again by another package version, converts again."""
    model_bin = (_directory(model) / "model.bin").resolve()
    stat = model_bin.stat()
    fingerprint = f"{CONVERTER_REVISION}|{model_bin}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model.name)
    return data_dir / CHECKPOINT_DIR / f"{slug}-{digest}.pt"


def ensure_checkpoint(model: ModelRef, data_dir: Path) -> Path:
    """The openai-whisper checkpoint of `model` (a CTranslate2 directory) under `data_dir`, converted first if it is
    not there yet: by one process, while the others of the machine wait for it."""
    path = checkpoint_path(model, data_dir)
    if path.is_file():
        return path
    with exclusive(path.parent):
        if not path.is_file():  # another worker may have converted it while this one waited
            started = time.perf_counter()
            save_checkpoint(convert(read_model_file(_directory(model) / "model.bin")), path)
            took_s = round(time.perf_counter() - started, 2)
            log.info(
                "converted %s for openai-whisper in %.1f s: %s",
                model.name,
                took_s,
                path,
                extra={"model": model.name, "path": str(path), "took_s": took_s},
            )
    return path


def whisper_cache_dir() -> Path:
    """Where openai-whisper keeps the models it downloaded (its own default `download_root`)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"


def cached_checkpoint(name: str) -> Path | None:
    """Where openai-whisper's own model `name` (`small`, `base.en`, …) is in its cache; None for another name."""
    try:
        import whisper
    except ImportError as missing:
        raise RuntimeError(f"{INSTALL_HINT} ({missing})") from missing

    return whisper_cache_dir() / Path(whisper._MODELS[name]).name if name in whisper._MODELS else None


def find_model(model: str, data_dir: Path, allow_download: bool = False) -> ModelRef:
    """The model STT_MODEL names for the openai-whisper engine, which never downloads one: a model `resolve_model`
    finds on disk (base, tiny.en, a CTranslate2 directory), one of openai-whisper's own already in its cache, or
    the path of a checkpoint file. `ModelUnavailable` (one line) otherwise."""
    cached = None if model in SHIPPED_MODELS else cached_checkpoint(model)
    if cached is not None:
        if not cached.is_file():
            raise ModelUnavailable(
                f"STT_MODEL={model}: no {cached} (models are never downloaded here: copy the file there, "
                "or set STT_MODEL to the path of a checkpoint)"
            )
        return ModelRef(model, str(cached))
    path = Path(model).expanduser()
    if path.is_file():
        return ModelRef(path.stem, str(path.resolve()))
    found = resolve_model(model, data_dir, allow_download)
    if found.directory is None:  # a hub name, which only faster-whisper downloads
        raise ModelUnavailable(
            f"STT_MODEL={model}: the openai-whisper engine downloads nothing: use {BASE}, {TINY_EN}, a CTranslate2 "
            "model directory, a checkpoint file or an openai-whisper model in its cache"
        )
    return found


def checkpoint_of(model: ModelRef, data_dir: Path) -> Path:
    """The checkpoint file `whisper.load_model` loads for `model`: a CTranslate2 directory converted (once), or the
    file itself."""
    if model.directory is None:
        return Path(model.source)
    try:
        return ensure_checkpoint(model, data_dir)
    except (ConversionError, ModelFileError) as error:
        raise ModelUnavailable(f"STT_MODEL={model.name}: openai-whisper cannot run it: {error}") from error


def model_alignment_heads(model: ModelRef, text_layers: int, text_heads: int) -> bytes | None:
    """The alignment heads of `model` when known (its config.json, or openai-whisper's table for a model of its
    cache), for `set_alignment_heads`; None keeps openai-whisper's default (every head of the later half of the
    decoder's layers)."""
    if model.directory is not None:
        config_file = model.directory / "config.json"
        config: dict[str, Any] = json.loads(config_file.read_text()) if config_file.is_file() else {}
        pairs = config.get("alignment_heads")
        return alignment_heads(pairs, text_layers, text_heads) if pairs else None
    if Path(model.source) == cached_checkpoint(model.name):
        import whisper

        heads: bytes = whisper._ALIGNMENT_HEADS[model.name]
        return heads
    return None


def _directory(model: ModelRef) -> Path:
    directory = model.directory
    if directory is None:
        raise ConversionError(f"{model.source}: not a CTranslate2 model directory (no model.bin)")
    return directory


def _dimensions(v: dict[str, Array]) -> ModelDimensions:
    return ModelDimensions(
        n_mels=v["encoder/conv1/weight"].shape[1],
        n_audio_ctx=v["encoder/position_encodings/encodings"].shape[0],
        n_audio_state=v["encoder/position_encodings/encodings"].shape[1],
        n_audio_head=int(v["encoder/num_heads"]),
        n_audio_layer=_count_layers(v, "encoder"),
        n_vocab=v["decoder/embeddings/weight"].shape[0],
        n_text_ctx=v["decoder/position_encodings/encodings"].shape[0],
        n_text_state=v["decoder/position_encodings/encodings"].shape[1],
        n_text_head=int(v["decoder/num_heads"]),
        n_text_layer=_count_layers(v, "decoder"),
    )


def _count_layers(v: dict[str, Array], stack: str) -> int:
    pattern = re.compile(rf"{stack}/layer_(\d+)/")
    return len({match.group(1) for name in v if (match := pattern.match(name))})


def _layer_norm(v: dict[str, Array], ct2: str, ow: str) -> dict[str, Array]:
    return {f"{ow}.weight": v[f"{ct2}/gamma"], f"{ow}.bias": v[f"{ct2}/beta"]}


def _feed_forward(v: dict[str, Array], ct2: str, ow: str) -> dict[str, Array]:
    return {
        f"{ow}.mlp.0.weight": v[f"{ct2}/linear_0/weight"],
        f"{ow}.mlp.0.bias": v[f"{ct2}/linear_0/bias"],
        f"{ow}.mlp.2.weight": v[f"{ct2}/linear_1/weight"],
        f"{ow}.mlp.2.bias": v[f"{ct2}/linear_1/bias"],
        **_layer_norm(v, f"{ct2}/layer_norm", f"{ow}.mlp_ln"),
    }


def _attention(v: dict[str, Array], ct2: str, ow: str, cross: bool) -> dict[str, Array]:
    """Split CTranslate2's fused projections into query, key (no bias) and value; `linear_2|1` is the output."""
    if cross:
        query_w, query_b = v[f"{ct2}/linear_0/weight"], v[f"{ct2}/linear_0/bias"]
        key_w, value_w = np.split(v[f"{ct2}/linear_1/weight"], 2)
        key_b, value_b = np.split(v[f"{ct2}/linear_1/bias"], 2)
        out = f"{ct2}/linear_2"
    else:
        query_w, key_w, value_w = np.split(v[f"{ct2}/linear_0/weight"], 3)
        query_b, key_b, value_b = np.split(v[f"{ct2}/linear_0/bias"], 3)
        out = f"{ct2}/linear_1"
    if np.any(key_b):
        raise ConversionError(f"{ct2}: the key projection has a bias, which openai-whisper's model has no room for")
    return {
        f"{ow}.query.weight": query_w,
        f"{ow}.query.bias": query_b,
        f"{ow}.key.weight": key_w,
        f"{ow}.value.weight": value_w,
        f"{ow}.value.bias": value_b,
        f"{ow}.out.weight": v[f"{out}/weight"],
        f"{ow}.out.bias": v[f"{out}/bias"],
    }


def main(models: list[str]) -> int:
    """Convert the models named (default: STT_MODEL, `base` unless set) into DATA_DIR; nothing to do when they are
    there already."""
    from core.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    for name in models or [settings.stt_model]:
        try:
            model = find_model(name, settings.data_dir, settings.stt_allow_download)
            path = checkpoint_of(model, settings.data_dir)
        except ModelUnavailable as refusal:
            print(refusal, file=sys.stderr)
            return 1
        print(f"openai-whisper checkpoint of {model.name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
