"""`stt.models`: STT_MODEL to a model on disk; Whisper base joined from its two PyPI parts, checked, never fetched."""

import os
import re
from pathlib import Path

import pytest

from stt.models import BASE_SIZE, TINY_EN, ModelRef, ModelUnavailable, resolve_model, tiny_en_directory


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with base joined once for the module (145 MB)."""
    data_dir = tmp_path_factory.mktemp("data")
    resolve_model("base", data_dir)
    return data_dir


def test_base_is_joined_once_into_the_data_dir_and_checked(base_dir: Path) -> None:
    model_bin = base_dir / "models" / "whisper-base" / "model.bin"
    joined_at = model_bin.stat().st_mtime_ns

    ref = resolve_model("base", base_dir)

    assert ref == ModelRef("base", str(base_dir / "models" / "whisper-base"))
    assert model_bin.stat().st_size == BASE_SIZE
    assert model_bin.stat().st_mtime_ns == joined_at  # not joined again
    assert {p.name for p in model_bin.parent.iterdir()} >= {"config.json", "tokenizer.json", "vocabulary.txt"}
    assert not [p for p in model_bin.parent.iterdir() if p.name.startswith(".joining")]
    assert not ref.english_only


@pytest.mark.parametrize("damage", ["truncated", "same size, other bytes"])
def test_a_damaged_base_model_is_a_one_line_start_error(tmp_path: Path, damage: str) -> None:
    target = tmp_path / "models" / "whisper-base"
    target.mkdir(parents=True)
    size = 1000 if damage == "truncated" else BASE_SIZE
    with (target / "model.bin").open("wb") as model_bin:
        model_bin.truncate(size)

    with pytest.raises(ModelUnavailable) as refused:
        resolve_model("base", tmp_path)

    assert "\n" not in str(refused.value)
    assert ("not 145217532" if damage == "truncated" else "SHA-256") in str(refused.value)


def test_missing_parts_say_how_to_install_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stt.models.BASE_PARTS", ("no_such_package_part1", "no_such_package_part2"))

    with pytest.raises(ModelUnavailable, match=re.escape("pip install -r requirements.txt")):
        resolve_model("base", tmp_path)

    assert not (tmp_path / "models" / "whisper-base" / "model.bin").exists()


def test_tiny_en_is_the_shipped_english_only_model(tmp_path: Path) -> None:
    ref = resolve_model(TINY_EN, tmp_path)

    assert ref == ModelRef(TINY_EN, str(tiny_en_directory()))
    assert ref.english_only
    assert ref.directory is not None


def test_a_hub_name_is_refused_offline_naming_the_choices_and_passed_on_when_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))

    with pytest.raises(ModelUnavailable) as refused:
        resolve_model("small", tmp_path)

    message = str(refused.value)
    assert "\n" not in message
    assert all(word in message for word in ("'small'", "base", "tiny.en", "STT_ALLOW_DOWNLOAD=true"))
    assert resolve_model("small", tmp_path, allow_download=True) == ModelRef("small", "small")
    assert not (tmp_path / "hf").exists()  # resolving fetches nothing; faster-whisper would, and only if allowed


def test_a_model_directory_is_used_as_it_is(tmp_path: Path) -> None:
    model_dir = tmp_path / "my-model.en"
    model_dir.mkdir()
    with pytest.raises(ModelUnavailable, match=re.escape("without model.bin")):
        resolve_model(str(model_dir), tmp_path)

    (model_dir / "model.bin").write_bytes(b"weights")
    ref = resolve_model(str(model_dir), tmp_path)

    assert ref == ModelRef("my-model.en", str(model_dir))
    assert ref.english_only
    assert os.fspath(ref.directory or "") == str(model_dir)
