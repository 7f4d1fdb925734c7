"""`audio.format.sniff_format`: the container is recognised from the first bytes only."""

from pathlib import Path

import pytest

from audio.format import SNIFF_BYTES, sniff_format

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def head_of(name: str) -> bytes:
    with (SAMPLES / name).open("rb") as file:
        return file.read(SNIFF_BYTES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hello.wav", "wav"),
        ("meeting.flac", "flac"),
        ("weather.mp3", "mp3"),
        ("delivery.ogg", "ogg"),
        ("reminder.m4a", "mp4"),
        ("travel.webm", "webm"),
    ],
)
def test_real_samples_are_recognised_by_their_first_bytes(name: str, expected: str) -> None:
    head = head_of(name)
    assert len(head) == SNIFF_BYTES == 64
    assert sniff_format(head) == expected


def test_file_name_plays_no_part() -> None:
    # The same bytes give the same answer, whatever the file was called: only `head` is passed.
    assert sniff_format(head_of("meeting.flac")) == "flac"
    assert sniff_format(head_of("hello.wav")[:SNIFF_BYTES]) == "wav"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"This is plain text, not audio at all.\n" * 2, id="text"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 48, id="png"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 51, id="jpeg"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n" * 6, id="pdf"),
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 54, id="zip"),
    ],
)
def test_non_audio_is_not_recognised(head: bytes) -> None:
    assert sniff_format(head) is None
