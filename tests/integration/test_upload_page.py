"""The upload page in headless Chromium against the real stack, in both dispatch modes: three files at once, live
progress over Server-Sent Events, transcripts and downloads; the language choice, translation and skipping
silence, with the detected language shown; what an English-only model offers; and an upload the API refuses."""

import json
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core.security import create_token
from tests.conftest import SAMPLES, clip, reference_text, word_error_rate
from tests.integration.conftest import OUTPUT, ApiClient, Stack

MAX_WER = 0.3
PAGE_DEADLINE_MS = 90_000
"""How long the three jobs may take, from choosing the files to the last transcript on the page."""

UPLOADS = ("hello.wav", "weather.mp3", "travel.webm")

ROWS_FINISHED = """n => {
    const rows = [...document.querySelectorAll('[data-testid="job-row"]')];
    const over = ["completed", "failed", "canceled", "error", "disconnected"];
    return rows.length === n && rows.every(row => over.includes(row.dataset.state));
}"""

SRT_CUE = re.compile(r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(\S.*)", re.DOTALL)


@dataclass
class PageSession:
    page: Page
    errors: list[str] = field(default_factory=list)
    """Uncaught exceptions in the page."""
    foreign: list[str] = field(default_factory=list)
    """Requests to anywhere but the API: there must be none."""


@contextmanager
def upload_page(browser: Browser, api: ApiClient, user: str = "alice") -> Iterator[PageSession]:
    """The page, opened from the API, with `user`'s token set through the token form."""
    context = browser.new_context(base_url=api.base_url, viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        session = PageSession(page)
        page.on("pageerror", lambda error: session.errors.append(str(error)))
        page.on(
            "request", lambda r: None if r.url.startswith((api.base_url, "data:")) else session.foreign.append(r.url)
        )
        page.goto("/")
        page.fill("#token", create_token(api.jwt_secret.encode(), user))
        page.click("#use-token")
        expect(page.locator("#token-state")).to_have_text("token set")
        yield session
    finally:
        context.close()


def row_named(page: Page, name: str) -> Locator:
    return page.get_by_test_id("job-row").filter(has=page.locator(".job-name", has_text=name))


def assert_valid_srt(srt: str) -> None:
    blocks = [block for block in srt.replace("\r\n", "\n").strip().split("\n\n") if block.strip()]
    assert blocks, f"empty SRT: {srt!r}"
    previous_end = "00:00:00,000"
    for number, block in enumerate(blocks, start=1):
        cue = SRT_CUE.fullmatch(block.strip())
        assert cue, f"not an SRT cue: {block!r}"
        assert int(cue[1]) == number, f"cue {cue[1]} where {number} was due"
        assert previous_end <= cue[2] <= cue[3], f"times out of order in {block!r}"  # fixed-width: text order
        previous_end = cue[3]


@pytest.mark.parametrize("mode", ["rq", "background"])
def test_three_uploads_show_live_progress_transcripts_and_downloads(
    stack: Stack, browser: Browser, mode: str, record_property: Callable[[str, object], None]
) -> None:
    if mode == "rq":
        api = stack.api()
        stack.workers(1)
    else:
        api = stack.api(USE_RQ_QUEUE="false")
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / f"upload-page-{mode}.png"
    screenshot.unlink(missing_ok=True)

    with upload_page(browser, api) as session:
        page = session.page
        started = time.monotonic()
        page.set_input_files("#files", [SAMPLES / name for name in UPLOADS])
        expect(page.get_by_test_id("job-row")).to_have_count(len(UPLOADS))
        try:
            page.wait_for_function(ROWS_FINISHED, arg=len(UPLOADS), timeout=PAGE_DEADLINE_MS)
            elapsed_s = time.monotonic() - started
        finally:
            page.screenshot(path=screenshot, full_page=True)  # of a failing page too
        assert screenshot.stat().st_size > 0

        for name in UPLOADS:
            row = row_named(page, name)
            status = row.get_by_test_id("job-status").text_content()
            assert row.get_attribute("data-state") == "completed", f"{name}: {status}"
            assert status == "completed"
            assert row.get_by_test_id("job-progress").evaluate("bar => bar.value") == 100
            expect(row.get_by_test_id("job-cancel")).to_be_hidden()
            transcript = row.get_by_test_id("job-transcript").text_content() or ""
            wer = word_error_rate(reference_text(SAMPLES / name), transcript)
            assert wer <= MAX_WER, f"{name}: WER {wer:.2f} for {transcript!r}"

            # The links authenticate with the page's cookie, as a click on them would: no Authorization header.
            links = {f: row.get_by_test_id(f"download-{f}").get_attribute("href") for f in ("txt", "srt", "vtt")}
            job_id = row.get_attribute("data-job-id")
            assert links == {f: f"/api/jobs/{job_id}/transcript?format={f}" for f in links}
            downloads = {f: page.request.get(str(href)) for f, href in links.items()}
            assert all(d.status == 200 for d in downloads.values()), {f: d.status for f, d in downloads.items()}
            assert_valid_srt(downloads["srt"].text())
            assert downloads["vtt"].text().startswith("WEBVTT")
            assert word_error_rate(reference_text(SAMPLES / name), downloads["txt"].text()) <= MAX_WER

        latencies = page.evaluate("window.progressLatencies")
        assert latencies, "no progress event reached the page"
        median_ms = 1000 * statistics.median(latencies)
        measured = {
            "mode": mode,
            "progress_events": len(latencies),
            "progress_latency_median_ms": round(median_ms, 1),
            "progress_latency_max_ms": round(1000 * max(latencies), 1),
            "three_jobs_s": round(elapsed_s, 2),
        }
        for key, value in measured.items():
            record_property(key, value)
        (OUTPUT / f"upload-page-{mode}.json").write_text(json.dumps(measured, indent=2) + "\n")
        print(f"upload page ({mode}): {measured}")
        assert not session.errors, session.errors
        assert not session.foreign, f"the page loaded something from elsewhere: {session.foreign}"


def test_the_language_choice_translation_and_the_detected_language(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    api = stack.api(USE_RQ_QUEUE="false", STT_LANGUAGES="ko,en,de")
    german = clip("german")
    uploads = {name: shutil.copyfile(german, tmp_path / f"{name}.flac") for name in ("detected", "given", "translated")}
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "upload-page-languages.png"
    screenshot.unlink(missing_ok=True)

    with upload_page(browser, api) as session:
        page = session.page
        expect(page.locator("#stt-state")).to_have_text("Model: base (multilingual)")
        expect(page.locator("#language option")).to_have_text(["Detect automatically", "Korean", "English", "German"])
        expect(page.locator("#language")).to_have_value("")
        expect(page.locator("#translate")).to_be_visible()
        expect(page.locator("#translate")).not_to_be_checked()
        expect(page.locator("#vad")).to_be_checked()  # STT_VAD's default

        page.set_input_files("#files", uploads["detected"])
        page.select_option("#language", label="German")
        page.uncheck("#vad")
        page.set_input_files("#files", uploads["given"])
        page.select_option("#language", label="Detect automatically")
        page.check("#vad")
        page.check("#translate")
        page.set_input_files("#files", uploads["translated"])
        try:
            page.wait_for_function(ROWS_FINISHED, arg=len(uploads), timeout=PAGE_DEADLINE_MS)
        finally:
            page.screenshot(path=screenshot, full_page=True)

        rows = {name: row_named(page, path.name) for name, path in uploads.items()}
        for name, row in rows.items():
            assert row.get_attribute("data-state") == "completed", (
                f"{name}: {row.get_by_test_id('job-status').text_content()}"
            )
            expect(row.get_by_test_id("job-model")).to_have_text("Model: base")
        detected = rows["detected"].get_by_test_id("job-language").text_content() or ""
        sure = re.fullmatch(r"Language: German \(detected, (\d+)%\)", detected)
        assert sure, detected
        assert 50 <= int(sure[1]) <= 100
        expect(rows["given"].get_by_test_id("job-language")).to_have_text("Language: German (as given)")
        expect(rows["translated"].get_by_test_id("job-language")).to_have_text(
            re.compile(r"^Language: German \(detected, \d+%\), translated to English$")
        )
        for name in ("detected", "given"):
            transcript = rows[name].get_by_test_id("job-transcript").text_content() or ""
            assert word_error_rate(reference_text(german), transcript) <= MAX_WER, f"{name}: {transcript!r}"
        english = (rows["translated"].get_by_test_id("job-transcript").text_content() or "").lower()
        assert "good morning" in english, english
        assert "guten" not in english, english

        engines = {
            name: api.job(str(row.get_attribute("data-job-id")))["result"]["engine"] for name, row in rows.items()
        }
        assert {name: (e["task"], e["vad"]) for name, e in engines.items()} == {
            "detected": ("transcribe", True),
            "given": ("transcribe", False),
            "translated": ("translate", True),
        }
        assert not session.errors, session.errors
        assert not session.foreign, session.foreign


def test_an_english_only_model_offers_english_and_no_translation(stack: Stack, browser: Browser) -> None:
    api = stack.api(USE_RQ_QUEUE="false", STT_MODEL="tiny.en", STT_VAD="false")

    with upload_page(browser, api) as session:
        page = session.page
        expect(page.locator("#stt-state")).to_have_text("Model: tiny.en (English only)")
        expect(page.locator("#language option")).to_have_text(["Detect automatically", "English"])
        expect(page.locator("#translate-option")).to_be_hidden()
        expect(page.locator("#vad")).not_to_be_checked()  # STT_VAD=false

        page.set_input_files("#files", SAMPLES / "hello.wav")
        row = page.get_by_test_id("job-row")
        expect(row).to_have_attribute("data-state", "completed", timeout=PAGE_DEADLINE_MS)
        expect(row.get_by_test_id("job-language")).to_have_text("Language: English (the model's only language)")
        expect(row.get_by_test_id("job-model")).to_have_text("Model: tiny.en")
        assert api.job(str(row.get_attribute("data-job-id")))["result"]["engine"]["vad"] is False
        assert not session.errors, session.errors
        assert not session.foreign, session.foreign


def test_a_text_file_named_wav_shows_the_api_message_and_no_progress(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    api = stack.api(USE_RQ_QUEUE="false")
    fake = tmp_path / "notes.wav"
    fake.write_text("Minutes of the meeting: nothing was recorded, this is only text.\n" * 20)
    with fake.open("rb") as body:
        refused = httpx.post(
            f"{api.base_url}/api/audio", headers=api.headers("alice"), files={"file": (fake.name, body)}, timeout=30
        )
    assert refused.status_code == 415, refused.text
    message = refused.json()["error"]["message"]

    with upload_page(browser, api) as session:
        page = session.page
        page.set_input_files("#files", fake)
        row = page.get_by_test_id("job-row")
        expect(row).to_have_attribute("data-state", "error")
        expect(row.get_by_test_id("job-status")).to_have_text(message)
        bar = row.get_by_test_id("job-progress")
        expect(bar).to_be_hidden()
        page.wait_for_timeout(1000)  # nothing may start moving afterwards either
        assert bar.evaluate("bar => bar.value") == 0
        assert row.get_attribute("data-job-id") is None
        expect(row.get_by_test_id("job-transcript")).to_be_hidden()
        expect(row.get_by_test_id("job-cancel")).to_be_hidden()
        assert not session.errors, session.errors
        assert not session.foreign, session.foreign


def test_a_diarized_upload_shows_speaker_turns_to_rename_copy_and_download(stack: Stack, browser: Browser) -> None:
    api = stack.api(USE_RQ_QUEUE="false", DIARIZATION="on")  # the API process diarizes (`make diarization`)
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "upload-page-speakers.png"
    screenshot.unlink(missing_ok=True)

    with upload_page(browser, api) as session:
        page = session.page
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api.base_url)
        expect(page.locator("#diarize")).to_be_enabled()  # GET /api/stt says diarization: true
        expect(page.locator("#speaker-counts")).to_be_hidden()
        page.check("#diarize")
        expect(page.locator("#speaker-counts")).to_be_visible()
        page.fill("#min-speakers", "2")
        page.fill("#max-speakers", "2")
        page.set_input_files("#files", clip("dialogue_2v_1min"))
        row = page.get_by_test_id("job-row")
        try:
            # about a minute of two voices, transcribed and diarized in the API process
            expect(row).to_have_attribute("data-state", "completed", timeout=2 * PAGE_DEADLINE_MS)
        finally:
            page.screenshot(path=screenshot, full_page=True)
        result = api.job(str(row.get_attribute("data-job-id")))["result"]
        assert result["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
        expect(row.get_by_test_id("job-speakers")).to_have_text("Speakers: 2 (click a name to rename)")

        # One paragraph per turn, each led by its speaker's label in the speaker's own colour.
        turns = row.get_by_test_id("job-turn")
        assert turns.count() >= 2
        expect(turns.first.get_by_test_id("speaker-label")).to_have_text("SPEAKER_1")
        labels = row.get_by_test_id("speaker-label")
        colours = {
            str(label.text_content()): label.evaluate("label => getComputedStyle(label).color")
            for label in labels.all()
        }
        assert set(colours) == {"SPEAKER_1", "SPEAKER_2"}
        assert colours["SPEAKER_1"] != colours["SPEAKER_2"]
        first_speaker = row.locator('[data-testid="speaker-label"][data-speaker="SPEAKER_1"]')
        second_speaker = row.locator('[data-testid="speaker-label"][data-speaker="SPEAKER_2"]')
        firsts, seconds = first_speaker.count(), second_speaker.count()

        # Renaming: click a label, type, Enter; every turn of that speaker changes. An empty name gives the label back.
        first_speaker.first.click()
        name_input = row.get_by_test_id("speaker-input")
        expect(name_input).to_be_focused()
        name_input.fill("Alex")
        name_input.press("Enter")
        expect(first_speaker).to_have_text(["Alex"] * firsts)
        second_speaker.last.click()
        row.get_by_test_id("speaker-input").fill("Sam")
        row.get_by_test_id("speaker-input").press("Escape")  # canceled
        expect(second_speaker).to_have_text(["SPEAKER_2"] * seconds)
        second_speaker.first.click()
        row.get_by_test_id("speaker-input").fill("Sam")
        row.get_by_test_id("speaker-input").press("Enter")
        expect(second_speaker).to_have_text(["Sam"] * seconds)
        second_speaker.first.click()
        row.get_by_test_id("speaker-input").fill("  ")
        row.get_by_test_id("speaker-input").press("Enter")
        expect(second_speaker).to_have_text(["SPEAKER_2"] * seconds)
        shown = row.get_by_test_id("job-transcript").text_content() or ""
        assert shown.startswith("Alex: ")
        assert "SPEAKER_1" not in shown

        # What the page copies and downloads carries the names; the server's own files do not change.
        links = {f: str(row.get_by_test_id(f"download-{f}").get_attribute("href")) for f in ("txt", "srt", "vtt")}
        served = {f: page.request.get(href).text() for f, href in links.items()}
        assert served["txt"].startswith("SPEAKER_1: ")
        row.get_by_test_id("copy-transcript").click()
        expect(row.get_by_test_id("copy-transcript")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        renamed_txt = re.sub(r"(^|\n\n)SPEAKER_1: ", r"\1Alex: ", served["txt"])
        assert copied == renamed_txt
        downloaded: dict[str, str] = {}
        for fmt in links:
            with page.expect_download() as download:
                row.get_by_test_id(f"download-{fmt}").click()
            downloaded[fmt] = Path(download.value.path()).read_text(encoding="utf-8")
        assert downloaded["txt"] == renamed_txt
        assert downloaded["srt"] == re.sub(r"(--> \S+\n)SPEAKER_1: ", r"\1Alex: ", served["srt"])
        assert_valid_srt(downloaded["srt"])
        assert downloaded["vtt"] == served["vtt"].replace("<v SPEAKER_1>", "<v Alex>")
        assert "<v SPEAKER_2>" in downloaded["vtt"]
        assert page.request.get(links["txt"]).text() == served["txt"]
        assert not session.errors, session.errors
        assert not session.foreign, session.foreign
