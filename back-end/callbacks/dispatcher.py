"""The API's callback dispatcher: a thread that claims due deliveries and attempts them on a small pool.

It runs in every API process, in both dispatch modes (a job on an RQ worker and a job in BackgroundTasks both
end in `record_event` in the API, and the STT workers have no database). `record_event` wakes it right after it
commits a terminal transition, so the first attempt starts within milliseconds and never inside the request that
recorded it. Between wake-ups it sleeps until the next attempt is due, or CALLBACK_POLL_INTERVAL_S at most, which
is how it finds deliveries another process planned and then died, or that were pending when the API restarted.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from callbacks.delivery import Claim, attempt, claim_due
from callbacks.models import DeliveryState
from callbacks.repository import DeliveryRepository
from core.settings import Settings
from db.engine import open_session

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4
"""Attempts one API process makes at once (each waits at most CALLBACK_TIMEOUT_S for its receiver)."""

MIN_SLEEP_S = 0.01


class CallbackDispatcher:
    def __init__(self, settings: Settings, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.settings = settings
        self.max_in_flight = max_in_flight
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="callback")
        self._in_flight = threading.Semaphore(max_in_flight)
        self._thread = threading.Thread(target=self._run, name="callback-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)  # an attempt under way ends with its own timeout

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before the pass: a wake-up during it makes the next wait return at once
            try:
                sleep_s = self.run_once()
            except Exception:
                log.exception("callback dispatcher pass failed")
                sleep_s = self.settings.callback_poll_interval_s
            self._wake.wait(sleep_s)

    def run_once(self) -> float:
        """Start every due attempt there is room for; the seconds until the next one is due."""
        free = 0
        while self._in_flight.acquire(blocking=False):
            free += 1
        claims = claim_due(self.settings, free) if free else []
        for _ in range(free - len(claims)):
            self._in_flight.release()
        for claim in claims:
            self._pool.submit(self._attempt, claim).add_done_callback(self._done)
        if free == 0 or len(claims) == free:
            return self.settings.callback_poll_interval_s  # full: a finished attempt wakes the loop
        return self._seconds_until_next_due()

    def _attempt(self, claim: Claim) -> DeliveryState:
        return attempt(claim, self.settings)

    def _done(self, future: Future[DeliveryState]) -> None:
        self._in_flight.release()
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            log.error("callback attempt failed to run", exc_info=error)
        self._wake.set()

    def _seconds_until_next_due(self) -> float:
        with open_session(self.settings.sqlalchemy_url) as session:
            due_at = DeliveryRepository(session).next_due_at()
        ceiling = self.settings.callback_poll_interval_s
        if due_at is None:
            return ceiling
        return min(ceiling, max(MIN_SLEEP_S, (due_at - datetime.now(UTC)).total_seconds()))


_running: CallbackDispatcher | None = None


def start_dispatcher(settings: Settings) -> CallbackDispatcher:
    global _running
    dispatcher = CallbackDispatcher(settings)
    dispatcher.start()
    _running = dispatcher
    return dispatcher


def stop_dispatcher(dispatcher: CallbackDispatcher) -> None:
    global _running
    dispatcher.stop()
    if _running is dispatcher:
        _running = None


def wake_dispatcher() -> None:
    """Tell this process's dispatcher that a delivery may be due (no-op where none runs)."""
    if _running is not None:
        _running.wake()
