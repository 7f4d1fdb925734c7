"""Recognising audio by its first bytes; never by the file name or the client's Content-Type."""

SNIFF_BYTES = 64
"""How many leading bytes `sniff_format` needs to see."""


def sniff_format(head: bytes) -> str | None:
    """The container of audio starting with `head`: wav, flac, ogg, mp3, aac, mp4, webm, aiff; else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS: 12 sync bits, layer 00
            return "aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0:  # MPEG audio frame, layer I-III
            return "mp3"
    return None
