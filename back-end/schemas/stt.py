"""`GET /api/stt`: what an upload may ask of this deployment's speech-to-text (the upload page builds its form
from it)."""

from pydantic import BaseModel, ConfigDict

LANGUAGE_FIELD = (
    "The spoken language, one of Whisper's ISO-639-1 codes (`de`, `ko`, …): transcribe in it, no detection. "
    "Empty: detect it from the first 30 s, choosing among STT_LANGUAGES when the deployment sets them "
    "(all of Whisper's languages otherwise); the result reports it with `language_probability`."
)
"""The description of the `language` form field of the upload routes (OpenAPI)."""


class LanguageChoice(BaseModel):
    code: str
    """Whisper's code: ISO-639-1 (`ko`), plus `haw` and `yue`."""
    name: str
    """Whisper's English name for it, lower-case (`korean`), as OpenAI's `verbose_json` reports it."""


class SttOptions(BaseModel):
    """The served model and what an upload may choose: a language, translation into English, skipping silence."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "base",
                    "english_only": False,
                    "languages": [{"code": "ko", "name": "korean"}, {"code": "en", "name": "english"}],
                    "translation": True,
                    "vad": True,
                    "diarization": True,
                }
            ]
        }
    )

    model: str
    """STT_MODEL's name (`base`, `tiny.en`, a model directory's name); also its id under `GET /v1/models`."""
    english_only: bool
    """An English-only model (`*.en`) transcribes English only: neither another language nor translation."""
    languages: list[LanguageChoice]
    """The deployment's languages, the ones detection chooses among: STT_LANGUAGES in its order, or all of
    Whisper's by name when it is empty; only English on an English-only model."""
    translation: bool
    """Whether `task=translate` (into English) is possible: the model is multilingual."""
    vad: bool
    """STT_VAD: whether silence is skipped when an upload does not say (`vad`)."""
    diarization: bool = False
    """Whether `diarize=true` would be served now: a live worker (in rollback mode, the API process) can diarize."""
