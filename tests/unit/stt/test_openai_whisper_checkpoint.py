"""`stt.openai_whisper_checkpoint`: a small synthetic CTranslate2 Whisper converted and loaded by openai-whisper's
own loader, name by name; the shipped models (base, tiny.en) converted, with their dimensions, vocabulary, languages
and alignment heads against openai-whisper's own."""

import base64
import dataclasses
import gzip
import json
import os
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
import whisper
import whisper.model
from whisper.tokenizer import get_tokenizer

from stt.ctranslate2_model_file import ModelFile, read_model_file
from stt.models import BASE, TINY_EN, ModelRef, tiny_en_directory
from stt.openai_whisper_checkpoint import (
    CHECKPOINT_DIR,
    ConversionError,
    ModelDimensions,
    checkpoint_of,
    checkpoint_path,
    convert,
    ensure_checkpoint,
    find_model,
    model_alignment_heads,
    save_checkpoint,
)
from tests.unit.stt.test_ctranslate2_model_file import write_model_file

STATE, HEADS, MELS, AUDIO_CTX, TEXT_CTX, VOCAB = 8, 2, 4, 6, 5, 11
ENCODER_LAYERS, DECODER_LAYERS = 1, 2

Variables = dict[str, npt.NDArray[np.generic]]


def ct2_whisper(rng: np.random.Generator) -> Variables:
    """The variables of a tiny CTranslate2 `WhisperSpec`, named and fused as CTranslate2's converter does."""

    def f(*shape: int) -> npt.NDArray[np.generic]:
        return rng.standard_normal(shape).astype(np.float16)

    def fused_bias(parts: int, key_at: int) -> npt.NDArray[np.generic]:
        bias = f(parts * STATE)
        bias[key_at * STATE : (key_at + 1) * STATE] = 0  # openai-whisper's key has no bias
        return bias

    def layer_norm(name: str) -> Variables:
        return {f"{name}/gamma": f(STATE), f"{name}/beta": f(STATE)}

    def ffn(name: str) -> Variables:
        return {
            f"{name}/linear_0/weight": f(4 * STATE, STATE),
            f"{name}/linear_0/bias": f(4 * STATE),
            f"{name}/linear_1/weight": f(STATE, 4 * STATE),
            f"{name}/linear_1/bias": f(STATE),
            **layer_norm(f"{name}/layer_norm"),
        }

    def self_attention(name: str) -> Variables:
        return {
            f"{name}/linear_0/weight": f(3 * STATE, STATE),
            f"{name}/linear_0/bias": fused_bias(3, key_at=1),
            f"{name}/linear_1/weight": f(STATE, STATE),
            f"{name}/linear_1/bias": f(STATE),
            **layer_norm(f"{name}/layer_norm"),
        }

    v: Variables = {
        "encoder/num_heads": np.array(HEADS, dtype=np.int16),
        "decoder/num_heads": np.array(HEADS, dtype=np.int16),
        "encoder/conv1/weight": f(STATE, MELS, 3),
        "encoder/conv1/bias": f(STATE),
        "encoder/conv2/weight": f(STATE, STATE, 3),
        "encoder/conv2/bias": f(STATE),
        "encoder/position_encodings/encodings": f(AUDIO_CTX, STATE),
        **layer_norm("encoder/layer_norm"),
        "decoder/embeddings/weight": f(VOCAB, STATE),
        "decoder/position_encodings/encodings": f(TEXT_CTX, STATE),
        **layer_norm("decoder/layer_norm"),
    }
    for i in range(ENCODER_LAYERS):
        v |= self_attention(f"encoder/layer_{i}/self_attention") | ffn(f"encoder/layer_{i}/ffn")
    for i in range(DECODER_LAYERS):
        cross = f"decoder/layer_{i}/attention"
        v |= self_attention(f"decoder/layer_{i}/self_attention") | ffn(f"decoder/layer_{i}/ffn")
        v |= {
            f"{cross}/linear_0/weight": f(STATE, STATE),
            f"{cross}/linear_0/bias": f(STATE),
            f"{cross}/linear_1/weight": f(2 * STATE, STATE),
            f"{cross}/linear_1/bias": fused_bias(2, key_at=0),
            f"{cross}/linear_2/weight": f(STATE, STATE),
            f"{cross}/linear_2/bias": f(STATE),
            **layer_norm(f"{cross}/layer_norm"),
        }
    return v


@pytest.fixture
def model(tmp_path: Path) -> ModelFile:
    path = write_model_file(
        tmp_path / "model.bin",
        ct2_whisper(np.random.default_rng(1)),
        aliases={"decoder/projection/weight": "decoder/embeddings/weight"},
    )
    return read_model_file(path)


def test_dimensions_come_from_the_variables(model: ModelFile) -> None:
    dims = convert(model).dims

    assert dims == ModelDimensions(
        n_mels=MELS,
        n_audio_ctx=AUDIO_CTX,
        n_audio_state=STATE,
        n_audio_head=HEADS,
        n_audio_layer=ENCODER_LAYERS,
        n_vocab=VOCAB,
        n_text_ctx=TEXT_CTX,
        n_text_state=STATE,
        n_text_head=HEADS,
        n_text_layer=DECODER_LAYERS,
    )
    assert [f.name for f in dataclasses.fields(ModelDimensions)] == [
        f.name for f in dataclasses.fields(whisper.model.ModelDimensions)
    ]


def test_fused_projections_are_split_into_query_key_and_value(model: ModelFile) -> None:
    v, state = model.variables, convert(model).state_dict
    fused = v["decoder/layer_1/self_attention/linear_0/weight"]
    cross_kv = v["decoder/layer_1/attention/linear_1/weight"]

    assert np.array_equal(state["decoder.blocks.1.attn.query.weight"], fused[:STATE])
    assert np.array_equal(state["decoder.blocks.1.attn.key.weight"], fused[STATE : 2 * STATE])
    assert np.array_equal(state["decoder.blocks.1.attn.value.weight"], fused[2 * STATE :])
    assert np.array_equal(
        state["decoder.blocks.1.attn.value.bias"], v["decoder/layer_1/self_attention/linear_0/bias"][2 * STATE :]
    )
    assert np.array_equal(
        state["decoder.blocks.1.cross_attn.query.weight"], v["decoder/layer_1/attention/linear_0/weight"]
    )
    assert np.array_equal(state["decoder.blocks.1.cross_attn.key.weight"], cross_kv[:STATE])
    assert np.array_equal(state["decoder.blocks.1.cross_attn.value.weight"], cross_kv[STATE:])
    assert np.array_equal(
        state["decoder.blocks.1.cross_attn.out.weight"], v["decoder/layer_1/attention/linear_2/weight"]
    )
    assert np.array_equal(state["encoder.blocks.0.attn.out.bias"], v["encoder/layer_0/self_attention/linear_1/bias"])
    assert not any(name.endswith("key.bias") for name in state)
    assert np.array_equal(state["encoder.blocks.0.mlp.2.weight"], v["encoder/layer_0/ffn/linear_1/weight"])
    assert np.array_equal(
        state["decoder.blocks.0.cross_attn_ln.weight"], v["decoder/layer_0/attention/layer_norm/gamma"]
    )
    assert np.array_equal(state["encoder.ln_post.bias"], v["encoder/layer_norm/beta"])


def test_the_names_and_shapes_are_exactly_those_of_openai_whispers_model(model: ModelFile) -> None:
    checkpoint = convert(model)
    expected = whisper.model.Whisper(whisper.model.ModelDimensions(**dataclasses.asdict(checkpoint.dims))).state_dict()

    assert {name: tuple(a.shape) for name, a in checkpoint.state_dict.items()} == {
        name: tuple(t.shape) for name, t in expected.items()
    }


def test_whisper_load_model_loads_the_written_checkpoint(model: ModelFile, tmp_path: Path) -> None:
    checkpoint = convert(model)
    save_checkpoint(checkpoint, tmp_path / "checkpoints" / "tiny.pt")

    loaded = whisper.load_model(str(tmp_path / "checkpoints" / "tiny.pt"), device="cpu")

    assert list((tmp_path / "checkpoints").iterdir()) == [tmp_path / "checkpoints" / "tiny.pt"]  # no draft left
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, torch.from_numpy(checkpoint.state_dict[name].astype(np.float32))), name
    with torch.no_grad():
        features = loaded.embed_audio(torch.zeros(1, MELS, 2 * AUDIO_CTX))
        logits = loaded.logits(torch.tensor([[1, 2, 3]]), features)
    assert tuple(logits.shape) == (1, 3, VOCAB)
    assert torch.isfinite(logits).all()


def test_a_key_bias_that_is_not_zero_cannot_be_converted(model: ModelFile) -> None:
    bias = model.variables["encoder/layer_0/self_attention/linear_0/bias"].copy()
    bias[STATE] = 0.5
    damaged = ModelFile(
        model.spec, model.revision, {**model.variables, "encoder/layer_0/self_attention/linear_0/bias": bias}
    )

    with pytest.raises(ConversionError, match="encoder/layer_0/self_attention: the key projection has a bias"):
        convert(damaged)


def test_other_models_and_missing_or_quantized_variables_are_refused(model: ModelFile) -> None:
    missing = {k: a for k, a in model.variables.items() if k != "decoder/layer_1/ffn/linear_0/bias"}
    quantized = {**model.variables, "encoder/conv2/weight": model.variables["encoder/conv2/weight"].astype(np.int8)}

    with pytest.raises(ConversionError, match="not a Whisper model"):
        convert(ModelFile("TransformerSpec", 1, model.variables))
    with pytest.raises(ConversionError, match="no variable 'decoder/layer_1/ffn/linear_0/bias'"):
        convert(ModelFile(model.spec, model.revision, missing))
    with pytest.raises(ConversionError, match=r"encoder.conv2.weight is int8"):
        convert(ModelFile(model.spec, model.revision, quantized))


def converted_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRef, Path]:
    """Whisper base and its checkpoint, converted once per test session (about 3 s, 145 MB) into a directory every
    test module that asks shares: a second caller finds it there."""
    data_dir = tmp_path_factory.getbasetemp() / "openai-whisper-base"
    model = find_model(BASE, data_dir)
    return model, checkpoint_of(model, data_dir)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRef, Path]:
    return converted_base(tmp_path_factory)


def mask(dump: bytes) -> npt.NDArray[np.bool_]:
    """Alignment heads as `set_alignment_heads` takes them, unpacked: one flag per decoder layer and head."""
    return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)


@pytest.mark.parametrize(("name", "layers", "heads"), [(TINY_EN, 4, 6), (BASE, 6, 8)])
def test_the_shipped_alignment_heads_are_openai_whispers_own(
    base: tuple[ModelRef, Path], name: str, layers: int, heads: int
) -> None:
    model = base[0] if name == BASE else ModelRef(TINY_EN, str(tiny_en_directory()))

    ours = model_alignment_heads(model, text_layers=layers, text_heads=heads)

    assert ours is not None
    assert np.array_equal(mask(ours), mask(whisper._ALIGNMENT_HEADS[name]))
    assert mask(ours).sum() == 8


def test_tiny_en_is_converted_once_into_data_dir(tmp_path: Path) -> None:
    model = ModelRef(TINY_EN, str(tiny_en_directory()))
    path = ensure_checkpoint(model, tmp_path)
    written = path.stat().st_mtime_ns

    assert path == checkpoint_path(model, tmp_path)
    assert path.parent == tmp_path / CHECKPOINT_DIR
    assert path.name.startswith("tiny.en-")
    assert ensure_checkpoint(model, tmp_path) == path
    assert path.stat().st_mtime_ns == written  # not converted again
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", path.name]  # no draft left
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["dims"] == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 384,
        "n_audio_head": 6,
        "n_audio_layer": 4,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 384,
        "n_text_head": 6,
        "n_text_layer": 4,
    }


def test_base_converts_to_a_multilingual_checkpoint_with_base_s_vocabulary_and_languages(
    base: tuple[ModelRef, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    model, path = base
    config = json.loads((Path(model.source) / "config.json").read_text())
    vocabulary = json.loads((Path(model.source) / "tokenizer.json").read_text())
    added = {token["content"]: token["id"] for token in vocabulary["added_tokens"]}

    checkpoint = torch.load(path, weights_only=True)
    loaded = whisper.load_model(str(path), device="cpu")
    with warnings.catch_warnings():  # its tokenizer leaves its vocabulary file to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        tokenizer = get_tokenizer(loaded.is_multilingual, num_languages=loaded.num_languages)

    assert path.parent == tmp_path_factory.getbasetemp() / "openai-whisper-base" / CHECKPOINT_DIR
    assert path.name.startswith("base-")
    assert 140e6 < path.stat().st_size < 150e6
    assert checkpoint["dims"] == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 512,
        "n_audio_head": 8,
        "n_audio_layer": 6,
        "n_vocab": 51865,
        "n_text_ctx": 448,
        "n_text_state": 512,
        "n_text_head": 8,
        "n_text_layer": 6,
    }
    assert loaded.is_multilingual
    assert loaded.num_languages == len(config["lang_ids"]) == 99
    assert sorted(tokenizer.all_language_tokens) == config["lang_ids"]  # openai-whisper's ids are base's
    assert {code: added[f"<|{code}|>"] for code in ("en", "de", "ko")} == {
        code: tokenizer.to_language_token(code) for code in ("en", "de", "ko")
    }
    assert (added["<|startoftranscript|>"], added["<|translate|>"], added["<|notimestamps|>"]) == (
        tokenizer.sot,
        tokenizer.translate,
        tokenizer.no_timestamps,
    )
    embedding = read_model_file(Path(model.source) / "model.bin").variables["decoder/embeddings/weight"]
    assert torch.equal(loaded.decoder.token_embedding.weight, torch.from_numpy(embedding.astype(np.float32)))


def test_another_model_or_another_copy_of_it_converts_again(tmp_path: Path) -> None:
    """The name depends on the model and on its model.bin (where, how large, when written), not on the name alone."""
    first, second = tmp_path / "a" / "mine", tmp_path / "b" / "mine"
    for directory in (first, second):
        directory.mkdir(parents=True)
        write_model_file(directory / "model.bin", ct2_whisper(np.random.default_rng(1)))
    one, other = ModelRef("mine", str(first)), ModelRef("mine", str(second))
    path = ensure_checkpoint(one, tmp_path)

    assert checkpoint_path(other, tmp_path) != path
    assert ensure_checkpoint(ModelRef("theirs", str(first)), tmp_path).name.startswith("theirs-")
    os.utime(first / "model.bin", ns=(1, 1))  # installed again, by another package version
    assert ensure_checkpoint(one, tmp_path) != path
    assert len(list((tmp_path / CHECKPOINT_DIR).glob("*.pt"))) == 3
