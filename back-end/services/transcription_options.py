"""What a client may ask of the engine with an upload: the spoken language, a prompt and the task, checked before
storing.

A language is one of Whisper's codes (ISO-639-1, case-insensitive; empty = detect). On an English-only model
(`*.en`, like the bundled tiny.en) any other language is refused with 400 `unsupported_language`: the engine would
otherwise transcribe it as English and answer a confident, wrong transcript. The prompt is Whisper's initial
prompt (it keeps the last 223 tokens of it); MAX_PROMPT_CHARS bounds what is stored. Speaker bounds are whole
numbers from 1 to MAX_SPEAKERS, the least no more than the most.
"""

from core.errors import BadRequest
from core.settings import Settings
from speakers.diarizer import MAX_SPEAKERS
from stt.engine import Task
from stt.languages import LANGUAGES, is_english_only

MAX_PROMPT_CHARS = 4000
"""Longer prompts are refused; Whisper would read only their last ~900 characters anyway."""


def check_language(language: str | None, settings: Settings) -> str | None:
    """The language code to transcribe in (lower-case), None to detect, or 400."""
    code = (language or "").strip().lower()
    if not code:
        return None
    if code not in LANGUAGES:
        raise BadRequest(
            "invalid_language",
            f"Unknown language {code[:16]!r}: use an ISO-639-1 code Whisper knows (e.g. en, de, fr).",
            param="language",
        )
    if code != "en" and is_english_only(settings.stt_model):
        raise BadRequest(
            "unsupported_language",
            f"The server's model ({settings.stt_model}) transcribes English only; send language=en or leave it out.",
            param="language",
        )
    return code


def check_prompt(prompt: str | None) -> str | None:
    """The prompt to give the engine (None when empty), or 400 when it is too long."""
    if prompt is None or not prompt.strip():
        return None
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest("prompt_too_long", f"The prompt is longer than {MAX_PROMPT_CHARS} characters.", param="prompt")
    return prompt


def check_task(task: Task, settings: Settings) -> Task:
    """`translate` needs a multilingual model: an English-only one cannot translate (400)."""
    if task == "translate" and is_english_only(settings.stt_model):
        raise BadRequest(
            "unsupported_task",
            f"The server's model ({settings.stt_model}) is English-only and cannot translate.",
            param="task",
        )
    return task


def check_speakers(diarize: bool, min_speakers: int | None, max_speakers: int | None) -> tuple[int | None, int | None]:
    """The speaker bounds to diarize with (None: any number), or 400: out of range, crossed, or given without
    `diarize`."""
    if not diarize:
        if min_speakers is not None or max_speakers is not None:
            raise BadRequest(
                "speakers_without_diarize", "min_speakers and max_speakers need diarize=true.", param="diarize"
            )
        return None, None
    for name, value in (("min_speakers", min_speakers), ("max_speakers", max_speakers)):
        if value is not None and not 1 <= value <= MAX_SPEAKERS:
            raise BadRequest("invalid_speakers", f"{name} must be between 1 and {MAX_SPEAKERS}.", param=name)
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise BadRequest("invalid_speakers", "min_speakers is more than max_speakers.", param="min_speakers")
    return min_speakers, max_speakers
