"""Your own audio-visual corpus -> the data directories of the LRS3 preparation.

Input, either:

- a folder of videos with a sidecar transcript next to each
  (``talk01.mp4`` + ``talk01.txt``, plain UTF-8 text; an LRS3-style ``Text:``
  line is also understood), any depth; or
- a table ``path,transcript[,speaker]`` (CSV, or TSV when the file ends in
  ``.tsv``; a header row naming ``path`` is skipped; relative paths are read
  from the table's folder).

The speaker is the table's third column, else the video's folder relative to
the corpus root (``unknown`` for videos in the root).  Utterance ids are
``<speaker>_<path without extension>`` with ``/`` and other unsafe characters
made ``_``.  Transcripts go through :class:`msrs.data.text_norm.TextNorm`.
Videos at any frame rate are accepted: stage 2 resamples to 25 fps
(``extract_roi --resample_fps true``); the rates found are logged here.

Sets: a deterministic share of clips (``valid_fraction``, ``test_fraction``;
the clips with the smallest SHA-1 of their id) or, with ``split_by="speaker"``,
of speakers.  Every clip that cannot be used (missing media or transcript,
unreadable media, empty transcript after normalisation) is listed in its set's
``failures.txt``; preparation goes on.
"""

import csv
import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from msrs.data import video_io
from msrs.data.datadir import DataDir, save_sets, sha1_sample
from msrs.data.lrs3 import read_text_file
from msrs.data.text_norm import TextNorm

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
MEDIA_EXTS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".m4v", ".flv", ".wmv")
SPLIT_BY = ("clip", "speaker")


class TableError(ValueError):
    """A transcript table is malformed; the message names the file and line."""


@dataclass
class OwnClip:
    """A video, its raw transcript (``None``: missing) and speaker."""

    media: Path
    text: Optional[str]
    speaker: str
    rel: str  # path relative to the corpus root (or as written in the table)
    problem: Optional[str] = None

    @property
    def utt(self) -> str:
        stem = re.sub(r"\.[^./]+$", "", self.rel)
        return safe_id(f"{self.speaker}_{stem}")


def safe_id(name: str) -> str:
    """A Kaldi-safe key: path separators and unsafe characters become ``_``."""
    return re.sub(r"[^\w.-]", "_", name, flags=re.UNICODE)


def _sidecar_text(txt: Path) -> str:
    raw = read_text_file(txt)
    for line in raw.splitlines():  # LRS3 layout: "Text:  ..."
        if line.startswith("Text:"):
            return line[len("Text:"):]
    return " ".join(raw.split())


def scan_folder(root: PathLike) -> List[OwnClip]:
    """Videos under ``root`` with their sidecar ``.txt`` (module doc)."""
    root = Path(root)
    clips = []
    for media in sorted(p for p in root.rglob("*") if p.suffix.lower() in MEDIA_EXTS and p.is_file()):
        rel = media.relative_to(root)
        speaker = safe_id(rel.parent.as_posix()) if rel.parent != Path(".") else "unknown"
        txt = media.with_suffix(".txt")
        clip = OwnClip(media.resolve(), None, speaker, rel.as_posix())
        if txt.is_file():
            clip.text = _sidecar_text(txt)
        else:
            clip.problem = f"{media}: no transcript {txt.name} beside it"
        clips.append(clip)
    return clips


def read_table(path: PathLike) -> List[OwnClip]:
    """Clips listed in a ``path,transcript[,speaker]`` CSV/TSV (module doc).

    Raises:
        TableError: a row without path and transcript columns.
    """
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    clips = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter=delimiter), 1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if n == 1 and row[0].strip().lower() in ("path", "file", "video"):
                continue
            if len(row) < 2:
                raise TableError(
                    f"{path}:{n}: expected 'path{delimiter}transcript[{delimiter}speaker]', got {row!r}"
                    + (" (a .tsv file is read with tabs, others with commas)" if len(row) == 1 else "")
                )
            rel = row[0].strip()
            media = Path(rel) if Path(rel).is_absolute() else path.parent / rel
            speaker = safe_id(row[2].strip()) if len(row) > 2 and row[2].strip() else None
            if speaker is None:
                parent = Path(rel).parent
                speaker = safe_id(parent.as_posix()) if parent != Path(".") else "unknown"
            clip = OwnClip(media.resolve(), row[1], speaker, rel.lstrip("/"))
            if not media.is_file():
                clip.problem = f"{path}:{n}: {media}: file not found"
            clips.append(clip)
    return clips


def _check(clip: OwnClip, norm: TextNorm) -> Tuple[Optional[Tuple[str, float, float]], Optional[str]]:
    """``((text, duration, fps), None)`` or ``(None, reason)``."""
    if clip.problem:
        return None, clip.problem
    text = norm(clip.text or "")
    if not text:
        return None, f"{clip.media}: empty transcript after normalisation ({(clip.text or '').strip()!r})"
    try:
        duration = video_io.media_duration(clip.media)
        fps = video_io.video_fps(clip.media)
    except video_io.MediaError as e:
        return None, str(e)
    return (text, duration, fps), None


def _held_out(keys: Sequence[str], fraction: float, skip: set) -> set:
    """``fraction`` of the distinct keys (at least one), outside ``skip`` (:func:`sha1_sample`)."""
    if fraction <= 0:
        return set()
    count = max(1, int(round(fraction * len(set(keys)))))
    return set(sha1_sample([k for k in keys if k not in skip], count))


def prepare_own_corpus(
    root: Optional[PathLike], out: PathLike, table: Optional[PathLike] = None,
    norm: TextNorm = TextNorm(), valid_fraction: float = 0.1, test_fraction: float = 0.1,
    split_by: str = "clip", set_names: Tuple[str, str, str] = ("train", "valid", "test"),
    nj: int = 4,
) -> Dict[str, int]:  # fmt: skip
    """Write train/valid/test data directories (module doc).

    Args:
        root: the folder of videos with sidecar ``.txt`` (ignored with ``table``).
        out: parent of the data directories.
        table: a ``path,transcript[,speaker]`` CSV/TSV.
        norm: transcript normalisation.
        valid_fraction: share of clips (or speakers) in the validation set.
        test_fraction: share of clips (or speakers) in the test set (0: none;
            the test set directory is then empty).
        split_by: ``clip`` or ``speaker`` (speaker-disjoint sets).
        set_names: names of the train, validation and test sets.
        nj: threads reading media headers.

    Returns:
        utterance counts per set and ``failed_clips``.
    """
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}")
    if table is not None:
        clips = read_table(table)
    elif root is not None and Path(root).is_dir():
        clips = scan_folder(root)
    else:
        raise FileNotFoundError(f"{root}: corpus folder not found (or give a transcript table)")
    if not clips:
        raise FileNotFoundError(f"{table or root}: no videos ({', '.join(MEDIA_EXTS)})")
    seen: Dict[str, OwnClip] = {}
    for c in clips:
        if c.utt in seen and c.problem is None:
            c.problem = f"{c.media}: same utterance id {c.utt} as {seen[c.utt].media}"
        seen.setdefault(c.utt, c)
    with ThreadPoolExecutor(max(1, nj)) as pool:
        results = list(pool.map(lambda c: _check(c, norm), clips))
    unit = (lambda c: c.utt) if split_by == "clip" else (lambda c: c.speaker)  # noqa: E731
    keys = [unit(c) for c in clips]
    test = _held_out(keys, test_fraction, set())
    valid = _held_out(keys, valid_fraction, test)
    train_name, valid_name, test_name = set_names
    dirs = {n: DataDir() for n in set_names}
    failures: Dict[str, Dict[str, str]] = {n: {} for n in set_names}
    rates: Counter = Counter()
    for c, (ok, reason) in zip(clips, results):
        name = test_name if unit(c) in test else valid_name if unit(c) in valid else train_name
        if ok is None:
            failures[name][c.utt] = " ".join(str(reason).split())
            continue
        text, duration, fps = ok
        rates[round(fps, 3)] += 1
        d = dirs[name]
        d.text[c.utt], d.utt2spk[c.utt], d.utt2dur[c.utt] = text, c.speaker, round(duration, 3)
        d.video[c.utt] = d.wav[c.utt] = str(c.media)
    other = {r: n for r, n in rates.items() if r and abs(r - 25.0) > 0.01}
    if other:
        logger.info(
            "%d video(s) not at 25 fps (%s): stage 2 resamples them to 25 fps (--resample_fps true)",
            sum(other.values()), ", ".join(f"{n} at {r:g} fps" for r, n in sorted(other.items())),
        )  # fmt: skip
    return save_sets(out, dirs, failures)
