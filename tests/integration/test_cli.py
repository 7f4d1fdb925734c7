"""The command-line client against a live stack, in both dispatch modes: three files, three transcripts; and German
speech with `--language de`, and translated with `--task translate --no-vad`."""

import json
import re

import pytest

from client.__main__ import main
from core.security import create_token
from tests.conftest import SAMPLES, clip, reference_text, word_error_rate
from tests.integration.conftest import Stack

FILES = [SAMPLES / name for name in ("hello.wav", "weather.mp3", "travel.webm")]


@pytest.mark.parametrize("mode", ["rq", "background"])
def test_cli_transcribes_three_files(stack: Stack, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    api = stack.api(USE_RQ_QUEUE="false") if mode == "background" else stack.api()
    if mode == "rq":
        stack.workers(2)
    token = create_token(api.jwt_secret.encode(), "cli-user")

    code = main(["transcribe", *map(str, FILES), "--url", api.base_url, "--token", token])

    out, err = capsys.readouterr()
    assert code == 0, err
    transcripts = dict(re.findall(r"==> (.+?) <==\n(.+?)\n\n", out, flags=re.DOTALL))
    assert set(transcripts) == {str(f) for f in FILES}
    for path in FILES:
        assert word_error_rate(reference_text(path), transcripts[str(path)]) <= 0.3
    for path in FILES:  # off a terminal, each status change is a line on stderr
        assert f"{path.name}: transcribing" in err
        assert f"{path.name}: completed" in err


def test_cli_language_task_and_vad_options(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    api = stack.api(USE_RQ_QUEUE="false")
    german = clip("german")
    common = [str(german), "--url", api.base_url, "--token", create_token(api.jwt_secret.encode(), "cli-user")]

    given = main(["transcribe", *common, "--language", "de", "--format", "json"])
    given_out = capsys.readouterr().out
    translated = main(["transcribe", *common, "--task", "translate", "--no-vad", "--format", "json"])
    translated_out = capsys.readouterr().out

    assert (given, translated) == (0, 0)
    as_given = json.loads(given_out.split("<==\n", 1)[1])
    english = json.loads(translated_out.split("<==\n", 1)[1])
    assert (as_given["language"], as_given.get("language_probability")) == ("de", None)  # given: not detected
    assert as_given["engine"]["task"] == "transcribe"
    assert as_given["engine"]["vad"] is True  # the server's STT_VAD
    assert word_error_rate(reference_text(german), as_given["text"]) <= 0.3
    assert english["language"] == "de"
    assert english["language_probability"] > 0.5
    assert (english["engine"]["task"], english["engine"]["vad"]) == ("translate", False)
    assert "good morning" in english["text"].lower()
