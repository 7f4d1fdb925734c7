"""The API's composition root: `cd back-end && uvicorn main:app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.routers import health_router, job_events_router, jobs_router, user_audio_router, web_router, webhook_router
from api.upload_limit import UploadSizeLimit
from core.errors import install_error_handlers
from core.settings import get_settings
from db.engine import migrate


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(migrate, get_settings().sqlalchemy_url)
    yield


def create_app() -> FastAPI:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(title="Audio transcription jobs", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(UploadSizeLimit, path="/api/audio", max_file_bytes=lambda: get_settings().max_upload_bytes)
    for module in (health_router, user_audio_router, jobs_router, job_events_router, webhook_router, web_router):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web_router.WEB_DIR), name="static")
    return app


app = create_app()
