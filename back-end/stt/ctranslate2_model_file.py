"""Reading a CTranslate2 `model.bin` with numpy alone: every variable by name, without CTranslate2.

The format (binary version 6, little-endian), as CTranslate2's `ModelSpec.save` writes it:

    uint32 version | string spec name | uint32 spec revision | uint32 variable count
    per variable: string name | uint8 rank | uint32 dims[rank] | uint8 dtype | uint32 byte count | bytes
    uint32 alias count | per alias: string alias | string variable name

A string is a uint16 length (counting a trailing NUL), then that many bytes. Dtype codes follow CTranslate2's
`DataType` enum. Aliases name one variable twice (Whisper's output projection is its token embedding).
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

BINARY_VERSION = 6
"""The only `model.bin` layout this reader knows (CTranslate2 3.x and 4.x write it)."""

FLOAT32, INT8, INT16, INT32, FLOAT16, BFLOAT16 = range(6)
"""CTranslate2's dtype codes, in the order of its `DataType` enum."""

_NUMPY_DTYPES: dict[int, np.dtype[np.generic]] = {
    FLOAT32: np.dtype("<f4"),
    INT8: np.dtype("i1"),
    INT16: np.dtype("<i2"),
    INT32: np.dtype("<i4"),
    FLOAT16: np.dtype("<f2"),
    BFLOAT16: np.dtype("<u2"),  # no numpy dtype: widened to float32 after reading
}


class ModelFileError(ValueError):
    """Raised when a file is not a CTranslate2 model this reader understands (wrong version, cut off, bad dtype)."""


@dataclass(frozen=True)
class ModelFile:
    spec: str
    """The model specification, e.g. `WhisperSpec`."""
    revision: int
    variables: dict[str, npt.NDArray[np.generic]]
    """Every variable by name, aliases included (the same array under both names)."""


def read_model_file(path: Path) -> ModelFile:
    """Every variable of the `model.bin` at `path`; bfloat16 comes back as float32, other dtypes as stored."""
    data = memoryview(path.read_bytes())
    reader = _Reader(data, path)
    version = reader.unpack("I")
    if version != BINARY_VERSION:
        raise ModelFileError(f"{path}: binary version {version}, this reader knows only {BINARY_VERSION}")
    spec = reader.string()
    revision = reader.unpack("I")
    variables: dict[str, npt.NDArray[np.generic]] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        dtype_code = reader.unpack("B")
        size = reader.unpack("I")
        if dtype_code not in _NUMPY_DTYPES:
            raise ModelFileError(f"{path}: variable {name} has unknown dtype code {dtype_code}")
        dtype = _NUMPY_DTYPES[dtype_code]
        if size != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise ModelFileError(f"{path}: variable {name} holds {size} bytes, not what {shape} of {dtype} needs")
        array = np.frombuffer(reader.take(size), dtype=dtype).reshape(shape)
        if dtype_code == BFLOAT16:
            array = (array.astype(np.uint32) << 16).view(np.float32)
        variables[name] = array
    if reader.remaining():  # files written before aliases existed simply end here
        for _ in range(reader.unpack("I")):
            alias, target = reader.string(), reader.string()
            if target not in variables:
                raise ModelFileError(f"{path}: alias {alias} names no variable ({target})")
            variables[alias] = variables[target]
    return ModelFile(spec, revision, variables)


class _Reader:
    def __init__(self, data: memoryview, path: Path) -> None:
        self.data = data
        self.path = path
        self.offset = 0

    def remaining(self) -> int:
        return len(self.data) - self.offset

    def take(self, size: int) -> memoryview:
        if size > self.remaining():
            raise ModelFileError(f"{self.path}: cut off at byte {len(self.data)}, {size} more expected")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, code: str) -> int:
        value: int = struct.unpack("<" + code, self.take(struct.calcsize(code)))[0]
        return value

    def string(self) -> str:
        return bytes(self.take(self.unpack("H"))).rstrip(b"\0").decode()
