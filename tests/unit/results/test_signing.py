"""`results.signing`: HMAC-SHA256 over `timestamp.body`, valid for TOLERANCE_S either way."""

import hashlib
import hmac

import pytest

from results.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, InvalidSignature, sign, verify

SECRET = b"webhook-secret-for-tests-0123456789abcdef"
BODY = b'{"job_id": "abc", "event": "completed"}'
STAMP = 1_700_000_000


def signed(body: bytes = BODY, secret: bytes = SECRET, timestamp: int = STAMP) -> tuple[str, str]:
    headers = sign(body, secret, timestamp)
    return headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]


def test_sign_produces_the_documented_headers() -> None:
    headers = sign(BODY, SECRET, STAMP)
    digest = hmac.new(SECRET, f"{STAMP}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(STAMP), SIGNATURE_HEADER: f"sha256={digest}"}


def test_round_trip_passes() -> None:
    timestamp, signature = signed()
    verify(BODY, SECRET, timestamp, signature, now=STAMP)  # raises on failure


@pytest.mark.parametrize("offset", [-TOLERANCE_S, -1, 0, 1, TOLERANCE_S])
def test_round_trip_passes_within_the_window(offset: int) -> None:
    timestamp, signature = signed()
    verify(BODY, SECRET, timestamp, signature, now=STAMP + offset)


def test_forged_signature_is_refused() -> None:
    timestamp, _ = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, "sha256=" + "0" * 64, now=STAMP)


def test_signature_without_prefix_is_refused() -> None:
    timestamp, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, signature.removeprefix("sha256="), now=STAMP)


def test_changed_body_is_refused() -> None:
    timestamp, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY.replace(b"completed", b"failed"), SECRET, timestamp, signature, now=STAMP)


def test_wrong_secret_is_refused() -> None:
    timestamp, signature = signed(secret=b"another-secret-entirely-0123456789abcdef")
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, signature, now=STAMP)


def test_signature_moved_to_another_timestamp_is_refused() -> None:
    _, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, str(STAMP + 1), signature, now=STAMP)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, "sig"), ("ts", None), (None, None), ("", "sig"), ("ts", "")],
    ids=["no-timestamp", "no-signature", "neither", "empty-timestamp", "empty-signature"],
)
def test_missing_headers_are_refused(timestamp: str | None, signature: str | None) -> None:
    real_timestamp, real_signature = signed()
    with pytest.raises(InvalidSignature):
        verify(
            BODY,
            SECRET,
            real_timestamp if timestamp == "ts" else timestamp,
            real_signature if signature == "sig" else signature,
            now=STAMP,
        )


@pytest.mark.parametrize("timestamp", ["abc", "1700000000.5", "-1700000000", " 1700000000", "1e9"])
def test_non_numeric_timestamp_is_refused(timestamp: str) -> None:
    _, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, signature, now=STAMP)


def test_timestamp_older_than_the_tolerance_is_refused() -> None:
    timestamp, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, signature, now=STAMP + TOLERANCE_S + 1)


def test_timestamp_further_ahead_than_the_tolerance_is_refused() -> None:
    timestamp, signature = signed()
    with pytest.raises(InvalidSignature):
        verify(BODY, SECRET, timestamp, signature, now=STAMP - TOLERANCE_S - 1)


@pytest.mark.parametrize("stamp", ["\u00b9\u00b2\u00b3", "\u0661\u0667" + "\u0660" * 8, "9" * 5000])
def test_non_ascii_or_huge_timestamps_are_invalid_not_errors(stamp: str) -> None:
    body = b"{}"
    signature = sign(body, b"k" * 32, 0)[SIGNATURE_HEADER]
    with pytest.raises(InvalidSignature):
        verify(body, b"k" * 32, stamp, signature)
