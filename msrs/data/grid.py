"""The GRID audio-visual sentence corpus: file names, alignments, layout.

GRID (Cooke, Barker, Cunningham and Shao, 2006; CC BY 4.0) has 34 speakers
``s1`` .. ``s34`` (``s21`` has no video in the release) x 1,000 sentences of
3 s, 25 fps video with audio, and word alignments.  A sentence id such as
``bbaf2n`` spells its six words: command, colour, preposition, letter, digit,
adverb (:func:`sentence_from_id`).  An alignment ``<id>.align`` has
``start end word`` lines in 1/1000 of a video frame (25,000 units per
second); ``sil`` and ``sp`` are silence (:func:`read_align`).

Layouts found in the wild are all accepted (:func:`scan_grid`): videos
``**/s<N>/**/<id>.mpg`` (the speaker is the nearest ``s<N>`` folder above
the file, else the parent folder; a ``id2_vcd_`` style prefix before the id
is ignored) and alignments ``**/s<N>/**/<id>.align`` (Zenodo's
``alignments/s<N>/``, the original site's ``s<N>/align/``).  An alignment
outside any ``s<N>`` folder is used only when its id belongs to one speaker.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

PathLike = Union[str, Path]

#: GRID's sentence code, one character per slot (README of the corpus)
COMMAND = {"b": "BIN", "l": "LAY", "p": "PLACE", "s": "SET"}
COLOUR = {"b": "BLUE", "g": "GREEN", "r": "RED", "w": "WHITE"}
PREPOSITION = {"a": "AT", "b": "BY", "i": "IN", "w": "WITH"}
LETTER = {c: c.upper() for c in "abcdefghijklmnopqrstuvxyz"}  # no w
DIGIT = {
    "z": "ZERO", "1": "ONE", "2": "TWO", "3": "THREE", "4": "FOUR",
    "5": "FIVE", "6": "SIX", "7": "SEVEN", "8": "EIGHT", "9": "NINE",
}  # fmt: skip
ADVERB = {"a": "AGAIN", "n": "NOW", "p": "PLEASE", "s": "SOON"}
SLOTS = (COMMAND, COLOUR, PREPOSITION, LETTER, DIGIT, ADVERB)

#: 1/1000 of a 25 fps frame: alignment units per second
ALIGN_UNITS_PER_SECOND = 25000.0
SILENCE = ("sil", "sp")
ALL_SPEAKERS = tuple(f"s{i}" for i in range(1, 35))
#: speakers without video in the GRID release
NO_VIDEO_SPEAKERS = ("s21",)

_SPEAKER_DIR = re.compile(r"^s\d+$")
_ID = re.compile(r"^[a-z]{4}[0-9z][a-z]$")


class GridFormatError(ValueError):
    """A GRID file name or alignment does not follow the corpus' format."""


def sentence_from_id(clip_id: str) -> List[str]:
    """The six words a GRID sentence id encodes, upper case.

    >>> sentence_from_id("bbaf2n")
    ['BIN', 'BLUE', 'AT', 'F', 'TWO', 'NOW']

    Raises:
        GridFormatError: not six characters or a character outside its slot.
    """
    if len(clip_id) != 6:
        raise GridFormatError(f"{clip_id!r}: a GRID sentence id has 6 characters")
    words = []
    for k, (c, slot) in enumerate(zip(clip_id, SLOTS)):
        if c not in slot:
            raise GridFormatError(
                f"{clip_id!r}: character {k + 1} ({c!r}) is not a GRID code "
                f"(expected one of {''.join(sorted(slot))})"
            )
        words.append(slot[c])
    return words


@dataclass
class AlignedWord:
    """A word of an alignment (seconds from the clip start)."""

    word: str
    start: float
    end: float


def read_align(path: PathLike) -> List[AlignedWord]:
    """Words of a GRID ``.align`` file, silence (``sil``, ``sp``) dropped.

    Returns:
        upper-case words with times in seconds.

    Raises:
        GridFormatError: a line is not ``start end word`` with integer times,
            or there are no words.
        OSError: unreadable file.
    """
    path = Path(path)
    words = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise GridFormatError(f"{path}:{n}: expected 'start end word', got {line!r}")
        try:
            start, end = int(parts[0]), int(parts[1])
        except ValueError:
            raise GridFormatError(f"{path}:{n}: non-integer time in {line!r}") from None
        if end < start:
            raise GridFormatError(f"{path}:{n}: end before start in {line!r}")
        if parts[2].lower() in SILENCE:
            continue
        words.append(
            AlignedWord(
                parts[2].upper(),
                start / ALIGN_UNITS_PER_SECOND,
                end / ALIGN_UNITS_PER_SECOND,
            )
        )
    if not words:
        raise GridFormatError(f"{path}: no words (only silence or empty)")
    return words


@dataclass
class GridClip:
    """One GRID video on disk and its alignment (``None`` when not found)."""

    speaker: str
    clip: str
    media: Path
    align: Optional[Path] = None
    align_problem: Optional[str] = None

    @property
    def utt(self) -> str:
        return f"{self.speaker}_{self.clip}"


def clip_id_of(path: Path) -> str:
    """The sentence id of a file name (``id2_vcd_swwp2s.mpg`` -> ``swwp2s``)."""
    stem = path.stem
    tail = stem.rsplit("_", 1)[-1]
    return tail if _ID.match(tail) else stem


def speaker_of(path: Path, root: Path) -> Optional[str]:
    """The nearest ``s<N>`` folder between ``root`` and ``path`` (None if none)."""
    rel = path.resolve().relative_to(root.resolve())
    for part in reversed(rel.parts[:-1]):
        if _SPEAKER_DIR.match(part):
            return part
    return None


def _safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def scan_grid(root: PathLike, video_ext: str = ".mpg") -> List[GridClip]:
    """Videos and their alignments under ``root`` (see the module doc).

    Returns:
        clips sorted by utterance id; ``align`` is None (with
        ``align_problem`` saying why) when no unique alignment was found.

    Raises:
        FileNotFoundError: ``root`` is missing or holds no video.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: GRID directory not found")
    videos = sorted(p for p in root.rglob(f"*{video_ext}") if p.is_file())
    if not videos:
        raise FileNotFoundError(
            f"{root}: no *{video_ext} videos (expected <GRID>/s<N>/<id>{video_ext}; "
            "see egs/grid/README.md for the download)"
        )
    by_spk: Dict[Tuple[str, str], Path] = {}
    loose: Dict[str, List[Path]] = {}
    for a in sorted(root.rglob("*.align")):
        spk = speaker_of(a, root)
        if spk is None:
            loose.setdefault(clip_id_of(a), []).append(a)
        else:
            by_spk.setdefault((spk, clip_id_of(a)), a)
    clips: Dict[str, GridClip] = {}
    speakers_of_id: Dict[str, set] = {}
    for v in videos:
        spk = speaker_of(v, root) or _safe_id(v.parent.name)
        c = GridClip(spk, clip_id_of(v), v.resolve())
        if c.utt in clips:
            continue  # the same sentence twice (e.g. two qualities): the first wins
        clips[c.utt] = c
        speakers_of_id.setdefault(c.clip, set()).add(spk)
    for c in clips.values():
        a = by_spk.get((c.speaker, c.clip))
        if a is None and c.clip in loose:
            if len(speakers_of_id[c.clip]) == 1 and len(loose[c.clip]) == 1:
                a = loose[c.clip][0]
            else:
                c.align_problem = (
                    f"alignment {c.clip}.align is outside any s<N> folder and "
                    f"{c.clip} is spoken by several speakers; put it under {c.speaker}/"
                )
        if a is not None:
            c.align = a.resolve()
        elif c.align_problem is None:
            c.align_problem = (
                f"alignment {c.clip}.align for {c.media} not found under {root} "
                f"(expected e.g. {root}/alignments/{c.speaker}/{c.clip}.align)"
            )
    return [clips[u] for u in sorted(clips, key=lambda u: u.encode())]


__all__ = [
    "ALL_SPEAKERS",
    "GridClip",
    "GridFormatError",
    "NO_VIDEO_SPEAKERS",
    "read_align",
    "scan_grid",
    "sentence_from_id",
]
