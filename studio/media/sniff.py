"""Why ffmpeg could not open a file, said truthfully (no Qt, no decoding).

ffmpeg picks a demuxer by probing a file's first bytes; when nothing matches it still guesses
one with a low score: a text file called ``notes.mp4`` goes to the MP4 demuxer, which looks for
the index ("moov atom not found") and fails as it would on a truncated MP4. :func:`unopenable_reason` tells the two
apart by what the file starts with (:func:`sniff`) and by ffmpeg's own words (the demuxer it
guessed, the score of that guess and its last error line), and names the demuxer that refused.
"""

from __future__ import annotations

import re
from pathlib import Path

#: How the first bytes of common files start, and what they are.
MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "an MP4/MOV video"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
    (0, b"RIFF", "a RIFF (AVI/WAV) file"),
    (0, b"GIF8", "a GIF image"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"OggS", "an Ogg file"),
    (0, b"ID3", "an MP3 audio file"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (4, b"moov", "an MP4/MOV video"),
    (4, b"mdat", "an MP4/MOV video"),
    (4, b"wide", "an MP4/MOV video"),
    (4, b"free", "an MP4/MOV video"),
)
MP4_KINDS = {"an MP4/MOV video"}
VIDEO_KINDS = MP4_KINDS | {"a Matroska/WebM video", "a RIFF (AVI/WAV) file", "a GIF image", "an Ogg file"}
_RE_LOW_SCORE = re.compile(r"Format (\S+) detected only with low score of (\d+)")


def sniff(path: Path, size: int = 4096) -> str | None:
    """What the file at ``path`` looks like from its first ``size`` bytes: one of the
    :data:`MAGIC` kinds, ``"a text file"``, or ``None`` (unknown binary, unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(size)
    except OSError:
        return None
    for offset, magic, kind in MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind
    if head and _is_text(head):
        return "a text file"
    return None


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # a multi-byte character cut at the end of the sample
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(1, len(text))


def ffmpeg_last_error(log: str) -> str:
    """ffmpeg's reason for refusing the input (``"Invalid data found when processing input"``),
    else its last line, else ``""``."""
    found = re.findall(r"Error opening input(?: files)?: (.+)$", log, re.M)
    if found:
        return found[-1].strip()
    lines = [ln.strip() for ln in log.strip().splitlines() if ln.strip()]
    return re.sub(r"^\[[^\]]+\] ", "", lines[-1]) if lines else ""


def unopenable_reason(path: Path, log: str) -> str:
    """Why ffmpeg (whose ``-i`` output is ``log``) could not open ``path``, as a clause after
    "cannot be opened: ", naming the demuxer that refused it and what ffmpeg said."""
    kind = sniff(path)
    said = ffmpeg_last_error(log)
    quote = f' ("{said}")' if said else ""
    if kind in MP4_KINDS and "moov atom not found" in log:
        return ("it is truncated: it starts as an MP4/MOV video but the index at the end of the file "
                'is missing (ffmpeg\'s mov/mp4 demuxer: "moov atom not found")')
    low = _RE_LOW_SCORE.search(log)
    if low is not None:
        who = (f"ffmpeg could only guess a demuxer for it ({low.group(1)}, probe score "
               f"{low.group(2)} of 100) and that demuxer refused it{quote}")
    else:
        who = f"ffmpeg found no demuxer that reads it{quote}"
    if kind == "a text file":
        return f"it is a text file, not a video; {who}"
    if kind is None:
        return f"it is not a video file (its first bytes match no video format); {who}"
    if kind in VIDEO_KINDS:
        return f"it starts as {kind} but ffmpeg cannot read it, so it is damaged{quote}"
    return f"it is {kind}, not a video; {who}"
