"""`stt.languages`: Whisper's own language codes, which models transcribe English only, and which language a
detection settles on when a deployment expects only some (STT_LANGUAGES)."""

import pytest

from stt.languages import LANGUAGES, deployment_languages, is_english_only, likeliest


def test_languages_are_whispers_own() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(LANGUAGES) == set(_LANGUAGE_CODES)


@pytest.mark.parametrize(
    ("model", "english_only"),
    [("tiny.en", True), ("/models/faster-whisper-small.en", True), ("large-v3", False), ("/models/base", False)],
)
def test_english_only_models_are_the_dot_en_ones(model: str, english_only: bool) -> None:
    assert is_english_only(model) is english_only


DETECTED = [("th", 0.61), ("ko", 0.21), ("en", 0.12), ("ja", 0.06)]
"""A short Korean clip as Whisper base may hear it: Thai first."""


def test_detection_settles_on_the_likeliest_expected_language() -> None:
    assert likeliest(DETECTED, ()) == ("th", 0.61)
    assert likeliest(DETECTED, ("ko", "en")) == ("ko", 0.21)
    assert likeliest(DETECTED, ("en", "it")) == ("en", 0.12)
    assert likeliest(DETECTED, ("it",)) == ("it", 0.0)  # not scored at all: the first expected one


def test_deployment_languages_are_whispers_codes_once_each_in_order() -> None:
    assert deployment_languages(["ko", "en", "ko"]) == ("ko", "en")
    assert deployment_languages([]) == ()
    with pytest.raises(ValueError, match="STT_LANGUAGES: kr, xx not among"):
        deployment_languages(["ko", "kr", "xx"])
