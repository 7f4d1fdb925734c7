"""`GET /api/stt`: the served model and what an upload may ask of it, for the upload page's form."""

from fastapi import APIRouter

from api.deps import CurrentUser, SettingsDep
from api.responses import error_responses
from api.routers.openai_audio_router import served_model
from queueing.queues import BACKGROUND, queue_name_for
from schemas.stt import LanguageChoice, SttOptions
from services.diarization import can_diarize
from stt.languages import LANGUAGES, deployment_languages, is_english_only

router = APIRouter(prefix="/api", tags=["audio"])


@router.get("/stt", response_model=SttOptions, responses=error_responses(401))
def read_stt_options(_: CurrentUser, settings: SettingsDep) -> SttOptions:
    """STT_MODEL, STT_LANGUAGES and STT_VAD as an upload sees them: which `language`, `task`, `vad` and `diarize`
    make sense."""
    english_only = is_english_only(settings.stt_model)
    if english_only:
        codes: tuple[str, ...] = ("en",)
    else:
        codes = deployment_languages(settings.stt_languages) or tuple(sorted(LANGUAGES, key=LANGUAGES.__getitem__))
    return SttOptions(
        model=served_model(settings),
        english_only=english_only,
        languages=[LanguageChoice(code=code, name=LANGUAGES[code]) for code in codes],
        translation=not english_only,
        vad=settings.stt_vad,
        diarization=can_diarize(queue_name_for("normal", True) if settings.use_rq_queue else BACKGROUND, settings),
    )
