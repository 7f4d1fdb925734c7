"""`stt.languages`: Whisper's own language codes, and which models transcribe English only."""

import pytest

from stt.languages import LANGUAGES, is_english_only


def test_languages_are_whispers_own() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(LANGUAGES) == set(_LANGUAGE_CODES)


@pytest.mark.parametrize(
    ("model", "english_only"),
    [("tiny.en", True), ("/models/faster-whisper-small.en", True), ("large-v3", False), ("/models/base", False)],
)
def test_english_only_models_are_the_dot_en_ones(model: str, english_only: bool) -> None:
    assert is_english_only(model) is english_only
