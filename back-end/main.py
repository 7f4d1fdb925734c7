"""The API's composition root: `cd back-end && uvicorn main:app`."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.dashboard import mount_dashboard
from api.errors import UPLOAD_PATHS, install_error_handlers
from api.routers import (
    admin_router,
    deliveries_router,
    health_router,
    job_events_router,
    jobs_router,
    openai_audio_router,
    ops_router,
    results_router,
    stt_router,
    user_audio_router,
    web_router,
)
from api.upload_limit import UploadSizeLimit
from callbacks.dispatcher import start_dispatcher, stop_dispatcher
from core.logging import RequestIdMiddleware, configure_logging
from core.settings import Settings, get_settings
from db.engine import migrate
from events.job_follow import close_stream_redis
from services.reconciler import reconcile_if_leader
from stt.languages import deployment_languages
from stt.models import ModelUnavailable, resolve_model

ROUTERS = (
    health_router,
    user_audio_router,
    openai_audio_router,
    stt_router,
    jobs_router,
    deliveries_router,
    job_events_router,
    admin_router,
    ops_router,
    results_router,
    web_router,
)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    await run_in_threadpool(migrate, settings.sqlalchemy_url)
    await run_in_threadpool(prepare_model, settings)
    reconciler = asyncio.create_task(reconcile_forever(settings))  # once at start, then every interval
    callbacks = start_dispatcher(settings)  # also picks up callbacks left pending by a previous run
    yield
    reconciler.cancel()
    await run_in_threadpool(stop_dispatcher, callbacks)
    await close_stream_redis()


def prepare_model(settings: Settings) -> None:
    """The model's files, ready before an in-process job (USE_RQ_QUEUE=false, or Redis down) needs them: base is
    joined from its parts here once. Where they cannot be had, only in-process jobs fail (the workers refuse to
    start on their own machines), so the API serves on."""
    try:
        resolve_model(settings.stt_model, settings.data_dir, settings.stt_allow_download)
    except ModelUnavailable as exc:
        logging.getLogger(__name__).warning("jobs run in this process will fail: %s", exc)


async def reconcile_forever(settings: Settings) -> None:
    while True:
        try:
            await run_in_threadpool(reconcile_if_leader, settings)
        except Exception:
            logging.getLogger(__name__).exception("reconciler pass failed")
        await asyncio.sleep(settings.reconcile_interval_s)


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.worker_id)
    deployment_languages(settings.stt_languages)  # a code Whisper does not know stops the API here, not a request
    app = FastAPI(title="Audio transcription jobs", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    for upload_path in UPLOAD_PATHS:
        app.add_middleware(UploadSizeLimit, path=upload_path, max_file_bytes=lambda: get_settings().max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Request-ID"],
        )
    app.add_middleware(RequestIdMiddleware)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web_router.WEB_DIR), name="static")
    mount_dashboard(app, settings)
    return app


app = create_app()
