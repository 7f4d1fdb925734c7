"""`services.transcription_options`: the language checked against Whisper's and the model's, and the prompt."""

import pytest

from core.errors import BadRequest
from core.settings import Settings
from services.transcription_options import check_language, check_prompt


def test_language_is_checked_against_whisper_and_the_model() -> None:
    english_only = Settings.model_construct(stt_model="tiny.en")
    multilingual = Settings.model_construct(stt_model="small")

    assert check_language(None, english_only) is None
    assert check_language(" ", english_only) is None
    assert check_language("EN", english_only) == "en"
    assert check_language("de", multilingual) == "de"
    with pytest.raises(BadRequest) as unsupported:
        check_language("de", english_only)
    assert (unsupported.value.code, unsupported.value.param) == ("unsupported_language", "language")
    assert "English only" in unsupported.value.message
    with pytest.raises(BadRequest) as unknown:
        check_language("klingon", multilingual)
    assert unknown.value.code == "invalid_language"


def test_prompt_empty_is_none_and_too_long_is_refused() -> None:
    assert check_prompt(None) is None
    assert check_prompt("  ") is None
    assert check_prompt("Kenobi, Skywalker") == "Kenobi, Skywalker"
    with pytest.raises(BadRequest) as too_long:
        check_prompt("x" * 4001)
    assert too_long.value.code == "prompt_too_long"
