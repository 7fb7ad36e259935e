"""LRS3 transcripts: parsing, normalisation, writing, and word-boundary segmentation.

An LRS3 ``<utt>.txt`` reads::

    Text:  SOME WORDS IN UPPER CASE
    Conf:  4

    WORD START END ASDSCORE
    SOME 0.00 0.21 5.0
    ...

(times in seconds from the clip start).  Files are decoded as UTF-8 and, failing
that, ISO-8859-1, so a stray Latin-1 byte never aborts a preparation run.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

PathLike = Union[str, Path]

_TAG = re.compile(r"\{[^{}]*\}")  # LRS3 non-speech tags such as {LG}
_NOT_ALLOWED = re.compile(r"[^A-Z0-9' ]+")


class Lrs3FormatError(ValueError):
    """A transcript file does not follow the LRS3 layout."""


@dataclass
class Word:
    """A word of the timing table (seconds from the clip start)."""

    word: str
    start: float
    end: float
    score: Optional[float] = None


@dataclass
class Transcript:
    """Content of one LRS3 ``.txt`` file.

    Attributes:
        text: the ``Text:`` line as written (not normalised).
        conf: the ``Conf:`` value (``None`` if absent).
        words: the word-timing table (may be empty, e.g. for ``test/``).
    """

    text: str
    conf: Optional[str] = None
    words: List[Word] = field(default_factory=list)


def normalize_text(text: str) -> str:
    """Normalise a transcript to LRS3/ESPnet style.

    Removes ``{...}`` tags (e.g. ``{LG}`` laughter), folds accents
    (``CAFÉ`` -> ``CAFE``), upper-cases, keeps ``[A-Z0-9']``, turns any other
    character into a word break and collapses white space.
    """
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("\u2019", "'").upper()
    text = _NOT_ALLOWED.sub(" ", text)
    return " ".join(w for w in text.split() if w.strip("'"))


def read_text_file(path: PathLike) -> str:
    """Read a text file as UTF-8, falling back to ISO-8859-1 (never fails on bytes)."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def parse_transcript(content: str, source: str = "<string>") -> Transcript:
    """Parse the content of an LRS3 ``.txt`` file.

    Args:
        content: file content.
        source: name used in error messages (the file path).

    Raises:
        Lrs3FormatError: no ``Text:`` line, or a malformed timing row.
    """
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text, conf, words = None, None, []
    in_table = False
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if in_table:
            parts = stripped.split()
            if len(parts) < 3:
                raise Lrs3FormatError(
                    f"{source}:{n}: timing row needs WORD START END: {line!r}"
                )
            try:
                start, end = float(parts[1]), float(parts[2])
                score = float(parts[3]) if len(parts) > 3 else None
            except ValueError:
                raise Lrs3FormatError(
                    f"{source}:{n}: non-numeric time in {line!r}"
                ) from None
            words.append(Word(parts[0], start, end, score))
        elif stripped.startswith("Text:") and text is None:
            text = stripped[len("Text:") :].strip()
        elif stripped.startswith("Conf:"):
            conf = stripped[len("Conf:") :].strip()
        elif stripped.split()[:3] == ["WORD", "START", "END"]:
            in_table = True
    if text is None:
        raise Lrs3FormatError(f"{source}: no 'Text:' line")
    return Transcript(text=text, conf=conf, words=words)


def read_transcript(path: PathLike) -> Transcript:
    """Read and parse an LRS3 ``.txt`` file (see :func:`parse_transcript`)."""
    return parse_transcript(read_text_file(path), source=str(path))


def format_transcript(transcript: Transcript) -> str:
    """Write a transcript in the LRS3 layout (inverse of :func:`parse_transcript`)."""
    out = [
        f"Text:  {transcript.text}",
        f"Conf:  {transcript.conf if transcript.conf is not None else 4}",
    ]
    if transcript.words:
        out += ["", "WORD START END ASDSCORE"]
        for w in transcript.words:
            score = 5.0 if w.score is None else w.score
            out.append(f"{w.word} {w.start:.2f} {w.end:.2f} {score:.1f}")
    return "\n".join(out) + "\n"


@dataclass
class ClipSegment:
    """A piece of a clip: ``[start, end)`` seconds and its normalised text."""

    start: float
    end: float
    text: str


def clean_words(
    words: Sequence[Word], duration: Optional[float] = None
) -> Tuple[List[Word], int]:
    """Normalise word strings and clip the table to the media duration.

    Words that normalise to nothing (tags such as ``{LG}``) are dropped; a word
    can also normalise to several tokens (``T-SHIRT`` -> ``T SHIRT``).  Words
    starting at or after ``duration`` are dropped, ends past it are clamped,
    ends before starts are raised to the start.

    Returns:
        the cleaned words (in time order) and the number dropped past the end.
    """
    out, dropped = [], 0
    for w in sorted(words, key=lambda w: (w.start, w.end)):
        norm = normalize_text(w.word)
        if not norm:
            continue
        if duration is not None and w.start >= duration:
            dropped += 1
            continue
        end = max(w.end, w.start)
        if duration is not None:
            end = min(end, duration)
        out.append(Word(norm, w.start, end, w.score))
    return out, dropped


def segment_words(
    words: Sequence[Word],
    max_duration: float = 16.0,
    duration: Optional[float] = None,
    margin: float = 0.2,
) -> List[ClipSegment]:
    """Cut a clip into segments of at most ``max_duration`` s at word boundaries.

    Words are accumulated greedily while the segment (from its start boundary
    to the end boundary after the candidate word) fits in ``max_duration``; the
    next word opens a new segment (a single word longer than the limit forms
    its own segment).  Boundaries lie ``margin`` seconds outside the first and
    last word, but never past the midpoint of the pause to a neighbouring word
    nor outside ``[0, duration]``.  This follows Auto-AVSR's cut at word times
    (there with no margin); the margin is our choice, so lip movements at the
    word edges are kept.

    A clip that fits in one segment is returned as a single segment spanning
    the whole clip ``[0, duration]`` (untrimmed, as Auto-AVSR keeps it).

    Args:
        words: cleaned words (see :func:`clean_words`), time-ordered.
        max_duration: maximum segment length in seconds.
        duration: clip duration in seconds (``None``: last word end + margin).
        margin: seconds kept around the words of a segment.

    Returns:
        segments in time order; empty if there are no words.
    """
    if not words:
        return []
    if max_duration <= 0:
        raise ValueError(f"max_duration must be positive, got {max_duration}")
    clip_end = duration if duration is not None else words[-1].end + margin
    n = len(words)

    def left(i: int) -> float:  # start boundary before word i
        lo = 0.0 if i == 0 else 0.5 * (words[i - 1].end + words[i].start)
        return max(lo, words[i].start - margin, 0.0)

    def right(j: int) -> float:  # end boundary after word j
        hi = clip_end if j == n - 1 else 0.5 * (words[j].end + words[j + 1].start)
        return min(hi, words[j].end + margin, clip_end)

    if clip_end - 0.0 <= max_duration:
        return [ClipSegment(0.0, clip_end, " ".join(w.word for w in words))]
    segments, i = [], 0
    while i < n:
        start = left(i)
        j = i
        while j + 1 < n and right(j + 1) - start <= max_duration:
            j += 1
        end = max(right(j), start)
        segments.append(
            ClipSegment(start, end, " ".join(w.word for w in words[i : j + 1]))
        )
        i = j + 1
    return segments
