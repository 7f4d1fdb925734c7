"""Transcripts in the speaker's language, silence skipped, and a worker that names its model or refuses to start:
real API, real workers, Whisper base (the default model), the project's own espeak-ng recordings."""

import json
from pathlib import Path

import pytest

from samples.recordings import ground_truth
from stack import start_workers
from tests.conftest import clip, reference_text, word_error_rate
from tests.integration.conftest import Stack

FOREIGN = {"german": "de", "spanish": "es", "french": "fr"}

MAX_WER = 0.45
"""Base on espeak-ng's German, Spanish and French voices (measured 0.0-0.3 here); English words for German
speech would score near 1."""


def assert_in_its_language(job: dict[str, object], name: str) -> None:
    assert job["status"] == "completed", job
    result = job["result"]
    assert isinstance(result, dict)
    assert result["language"] == FOREIGN[name], result
    assert float(result["language_probability"]) > 0.5
    assert result["model"] == "base"
    wer = word_error_rate(reference_text(clip(name)), str(result["text"]))
    assert wer <= MAX_WER, f"{name}: WER {wer:.2f} for {result['text']!r}"


@pytest.mark.parametrize("mode", ["rq", "background"])
def test_german_spanish_and_french_are_detected_and_written_in_their_language(stack: Stack, mode: str) -> None:
    api = stack.api(USE_RQ_QUEUE="true" if mode == "rq" else "false")
    if mode == "rq":
        stack.workers(1)

    accepted = {name: api.upload(clip(name)) for name in FOREIGN}

    for name, upload in accepted.items():
        assert_in_its_language(api.wait(upload["job_id"]), name)


def test_detection_keeps_to_the_deployment_s_languages(stack: Stack) -> None:
    stack.env["STT_LANGUAGES"] = "en,it"
    api = stack.api()
    stack.workers(1)

    italian = api.wait(api.upload(clip("italian"))["job_id"])
    spanish = api.wait(api.upload(clip("spanish"))["job_id"])

    assert italian["result"]["language"] == "it"
    assert spanish["result"]["language"] in ("en", "it")  # never es: this deployment expects English and Italian


@pytest.mark.parametrize("name", ["silence_gap", "noise_gap"])
def test_silence_or_noise_between_sentences_invents_nothing_and_keeps_true_times(stack: Stack, name: str) -> None:
    """60 s of silence, or 40 s of noise: without VAD, base repeats the first sentence in the silence and puts the
    second sentence 14 s early after the noise (measured)."""
    api = stack.api()
    stack.workers(1)
    recording = clip(name)
    first, second = ground_truth(recording)["parts"]

    job = api.wait(api.upload(recording)["job_id"])

    result = job["result"]
    assert result["engine"]["vad"] is True
    in_the_gap = [s for s in result["segments"] if s["end"] > first["end"] + 1 and s["start"] < second["start"] - 1]
    assert in_the_gap == []
    later = next(s for s in result["segments"] if s["start"] > first["end"] + 1)
    assert abs(later["start"] - second["start"]) <= 1.0, later
    assert word_error_rate(reference_text(recording), result["text"]) <= 0.2


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"STT_MODEL": "small"}, "STT_MODEL='small' is not available offline: use base"),
        ({"STT_MODEL": "base", "corrupt": "yes"}, "is not Whisper base's: delete it and retry"),
        ({"STT_LANGUAGES": "ko,kr"}, "STT_LANGUAGES: kr not among Whisper's language codes"),
    ],
)
def test_a_worker_without_its_model_refuses_to_start_in_one_line_and_fetches_nothing(
    stack: Stack, tmp_path: Path, setting: dict[str, str], expected: str
) -> None:
    env = {**stack.env, "WORKER_COUNT": "1", "WORKER_ID": "refused", "HF_HOME": str(tmp_path / "hf")}
    env.update({k: v for k, v in setting.items() if k.isupper()})
    if "corrupt" in setting:
        model_bin = Path(env["DATA_DIR"]) / "models" / "whisper-base" / "model.bin"
        model_bin.parent.mkdir(parents=True)
        with model_bin.open("wb") as damaged:
            damaged.truncate(145_217_532)
    log = tmp_path / "refused.log"

    code = start_workers(env, log).wait(timeout=60)

    lines = log.read_text().splitlines()
    errors = [json.loads(line) for line in lines if line.startswith("{") and '"ERROR"' in line]
    assert code == 2
    assert len(errors) == 1, lines
    assert expected in errors[0]["message"]
    assert "Traceback" not in log.read_text()
    assert not (tmp_path / "hf").exists()
