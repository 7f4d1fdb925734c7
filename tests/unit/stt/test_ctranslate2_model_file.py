"""`stt.ctranslate2_model_file`: model.bin files written here in CTranslate2's layout, and the bundled one."""

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from stt.ctranslate2_model_file import (
    BFLOAT16,
    FLOAT16,
    FLOAT32,
    INT8,
    INT16,
    INT32,
    ModelFileError,
    read_model_file,
)
from stt.models import tiny_en_directory

DTYPE_CODES = {
    np.dtype("f4"): FLOAT32,
    np.dtype("i1"): INT8,
    np.dtype("i2"): INT16,
    np.dtype("i4"): INT32,
    np.dtype("f2"): FLOAT16,
}


def _string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("<H", len(data)) + data


def model_bin(
    variables: dict[str, npt.NDArray[np.generic]],
    aliases: dict[str, str] | None = None,
    spec: str = "WhisperSpec",
    revision: int = 3,
    version: int = 6,
) -> bytes:
    """A model.bin as CTranslate2's `ModelSpec.save` writes it."""
    out = struct.pack("<I", version) + _string(spec) + struct.pack("<II", revision, len(variables))
    for name, array in variables.items():
        out += _string(name) + struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape)
        out += (
            struct.pack("<BI", DTYPE_CODES[array.dtype], array.nbytes)
            + array.astype(array.dtype.newbyteorder("<")).tobytes()
        )
    out += struct.pack("<I", len(aliases or {}))
    for alias, target in (aliases or {}).items():
        out += _string(alias) + _string(target)
    return out


def write_model_file(path: Path, variables: dict[str, npt.NDArray[np.generic]], **options: object) -> Path:
    path.write_bytes(model_bin(variables, **options))  # type: ignore[arg-type]
    return path


def test_every_dtype_and_shape_reads_back_with_aliases(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    variables: dict[str, npt.NDArray[np.generic]] = {
        "decoder/embeddings/weight": rng.standard_normal((5, 3)).astype(np.float16),
        "encoder/conv1/weight": rng.standard_normal((4, 2, 3)).astype(np.float32),
        "decoder/num_heads": np.array(6, dtype=np.int16),
        "decoder/pre_norm": np.array(1, dtype=np.int8),
        "decoder/ids": np.arange(4, dtype=np.int32),
    }
    path = write_model_file(
        tmp_path / "model.bin", variables, aliases={"decoder/projection/weight": "decoder/embeddings/weight"}
    )

    model = read_model_file(path)

    assert (model.spec, model.revision) == ("WhisperSpec", 3)
    assert set(model.variables) == {*variables, "decoder/projection/weight"}
    for name, array in variables.items():
        assert model.variables[name].dtype == array.dtype, name
        assert np.array_equal(model.variables[name], array), name
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    assert int(model.variables["decoder/num_heads"]) == 6


def test_bfloat16_is_widened_to_float32(tmp_path: Path) -> None:
    values = np.array([1.5, -2.0, 0.0, 3.140625], dtype=np.float32)
    stored = (values.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16: the high half of a float32
    data = bytearray(model_bin({"w": stored.view(np.int16)}))
    dtype_at = data.index(b"w\0") + 2 + 1 + 4  # name, rank, one dimension
    data[dtype_at] = BFLOAT16
    (tmp_path / "model.bin").write_bytes(bytes(data))

    array = read_model_file(tmp_path / "model.bin").variables["w"]

    assert array.dtype == np.float32
    assert np.array_equal(array, values)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: struct.pack("<I", 5) + data[4:], "binary version 5"),
        (lambda data: data[:-40], "cut off"),
        (lambda data: data.replace(struct.pack("<BI", FLOAT16, 12), struct.pack("<BI", 9, 12)), "unknown dtype code 9"),
        (lambda data: data.replace(struct.pack("<BI", FLOAT16, 12), struct.pack("<BI", FLOAT16, 10)), "holds 10 bytes"),
    ],
)
def test_damaged_files_are_refused_with_the_reason(tmp_path: Path, damage: object, message: str) -> None:
    data = model_bin({"a": np.ones((2, 3), dtype=np.float16), "b": np.ones(8, dtype=np.float32)})
    (tmp_path / "model.bin").write_bytes(damage(data))  # type: ignore[operator]

    with pytest.raises(ModelFileError, match=message):
        read_model_file(tmp_path / "model.bin")


def test_the_bundled_whisper_model_reads_completely() -> None:
    model = read_model_file(tiny_en_directory() / "model.bin")

    assert (model.spec, model.revision) == ("WhisperSpec", 3)
    assert len(model.variables) == 148 + 1  # and the output projection, an alias of the token embedding
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    fused = model.variables["decoder/layer_0/self_attention/linear_0/weight"]
    assert (fused.shape, fused.dtype) == ((1152, 384), np.float16)
    assert np.isfinite(fused).all()
    assert int(model.variables["encoder/num_heads"]) == 6
