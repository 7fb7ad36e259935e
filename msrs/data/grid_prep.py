"""Stage 1 of egs/grid: a local GRID copy -> Kaldi-style data directories.

Writes ``<out>/{train,valid,test}`` (``video.scp`` and ``wav.scp`` both the
``.mpg``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2dur``, ``failures.txt``),
the same files as the LRS3 preparation, with utterance ids
``<speaker>_<sentence id>``.

Splits (``split``):

- ``unseen``: the speakers ``s1, s2, s20, s22`` are the test set (LipNet's
  unseen-speaker split); every other speaker trains.
- ``overlapped``: every speaker trains and tests; ``test_per_speaker``
  sentences of each speaker (default 255, the number LipNet holds out per
  speaker) are the test set.

In both, ``valid_per_speaker`` sentences of each training speaker (default
10, our choice) are held out for validation.  Held-out sentences are the ones
with the smallest SHA-1 of their utterance id: deterministic, independent of
the file order, uniform over the sentences.

Transcripts come from the ``.align`` file (``sil``/``sp`` dropped) and are
checked against the sentence the file name encodes; with
``text_source="filename"`` the file name alone gives them (for a copy
without alignments).  A clip without alignment, with a malformed one, with
an alignment that disagrees with its name, or with unreadable media is
listed in its set's ``failures.txt`` as ``<utt> <reason>``; preparation goes on.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from msrs.data import video_io
from msrs.data.datadir import DataDir, save_sets, sha1_sample
from msrs.data.grid import (
    ALL_SPEAKERS,
    NO_VIDEO_SPEAKERS,
    GridClip,
    GridFormatError,
    read_align,
    scan_grid,
    sentence_from_id,
)

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
UNSEEN_TEST_SPEAKERS = ("s1", "s2", "s20", "s22")
SPLITS = ("unseen", "overlapped")
TEXT_SOURCES = ("align", "filename")


def clip_text(clip: GridClip, text_source: str = "align") -> str:
    """The transcript of a clip (see the module doc).

    Raises:
        GridFormatError: no/malformed alignment, or it disagrees with the name.
        OSError: unreadable alignment.
    """
    if text_source == "filename":
        return " ".join(sentence_from_id(clip.clip))
    if clip.align is None:
        raise GridFormatError(clip.align_problem or f"{clip.media}: no alignment")
    words = [w.word for w in read_align(clip.align)]
    try:
        expected = sentence_from_id(clip.clip)
    except GridFormatError:
        return " ".join(words)  # a name that is not a sentence code: trust the alignment
    if words != expected:
        raise GridFormatError(
            f"{clip.align}: words {' '.join(words)!r} disagree with the sentence "
            f"{' '.join(expected)!r} its name {clip.clip} encodes"
        )
    return " ".join(words)


def _prepare(clip: GridClip, text_source: str) -> Tuple[Optional[Tuple[str, float]], Optional[str]]:
    """``((text, duration), None)`` or ``(None, reason)``."""
    try:
        text = clip_text(clip, text_source)
    except (GridFormatError, OSError) as e:
        return None, str(e)
    try:
        duration = video_io.media_duration(clip.media)
    except video_io.MediaError as e:
        return None, str(e)
    if duration <= 0:
        return None, f"{clip.media}: zero duration"
    return (text, duration), None


def assign_sets(
    clips: Sequence[GridClip],
    split: str,
    test_per_speaker: int = 255,
    valid_per_speaker: int = 10,
    test_speakers: Sequence[str] = UNSEEN_TEST_SPEAKERS,
) -> Dict[str, str]:
    """``utt -> "train" | "valid" | "test"`` for every clip (module doc)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    per_spk: Dict[str, List[str]] = {}
    for c in clips:
        per_spk.setdefault(c.speaker, []).append(c.utt)
    out: Dict[str, str] = {}
    for spk, utts in per_spk.items():
        rest = list(utts)
        if split == "unseen" and spk in test_speakers:
            out.update({u: "test" for u in utts})
            continue
        if split == "overlapped":
            test = set(sha1_sample(rest, test_per_speaker))
            out.update({u: "test" for u in test})
            rest = [u for u in rest if u not in test]
        valid = set(sha1_sample(rest, valid_per_speaker))
        out.update({u: "valid" if u in valid else "train" for u in rest})
    return out


def report_speakers(clips: Sequence[GridClip], split: str, test_speakers: Sequence[str]) -> None:
    """Log GRID speakers without video (``s21`` is expected) and missing test speakers.

    Raises:
        ValueError: ``split="unseen"`` and none of the test speakers has a video.
    """
    present = {c.speaker for c in clips}
    grid_like = present & set(ALL_SPEAKERS)
    missing = [s for s in ALL_SPEAKERS if s not in present]
    if grid_like and missing:
        known = [s for s in missing if s in NO_VIDEO_SPEAKERS]
        other = [s for s in missing if s not in NO_VIDEO_SPEAKERS]
        if known:
            logger.info("%s: no video in the GRID release; skipped", ", ".join(known))
        if other:
            logger.warning("speakers without any video in this copy: %s", ", ".join(other))
    if split == "unseen":
        absent = [s for s in test_speakers if s not in present]
        if len(absent) == len(test_speakers):
            raise ValueError(
                f"--split unseen: none of the test speakers {', '.join(test_speakers)} "
                "has a video in this copy (download them, or use --split overlapped)"
            )
        if absent:
            logger.warning(
                "--split unseen: test speaker(s) %s missing; the test set is not "
                "the standard one", ", ".join(absent),
            )


def prepare_grid(
    root: PathLike,
    out: PathLike,
    split: str = "unseen",
    test_per_speaker: int = 255,
    valid_per_speaker: int = 10,
    text_source: str = "align",
    test_speakers: Sequence[str] = UNSEEN_TEST_SPEAKERS,
    set_names: Tuple[str, str, str] = ("train", "valid", "test"),
    nj: int = 4,
    progress: bool = True,
) -> Dict[str, int]:
    """Write the train/valid/test data directories (module doc).

    Args:
        root: the GRID copy (see :func:`msrs.data.grid.scan_grid`).
        out: parent of the data directories.
        split: ``unseen`` or ``overlapped``.
        test_per_speaker: ``overlapped``: sentences of each speaker in test.
        valid_per_speaker: sentences of each training speaker in valid.
        text_source: ``align`` or ``filename``.
        test_speakers: ``unseen``: the held-out speakers.
        set_names: names of the train, validation and test sets.
        nj: threads reading alignments and media headers.
        progress: show a progress bar.

    Returns:
        utterance counts per set and ``failed_clips``.
    """
    from tqdm import tqdm

    if text_source not in TEXT_SOURCES:
        raise ValueError(f"text_source must be one of {TEXT_SOURCES}, got {text_source!r}")
    clips = scan_grid(root)
    report_speakers(clips, split, test_speakers)
    role = assign_sets(clips, split, test_per_speaker, valid_per_speaker, test_speakers)
    with ThreadPoolExecutor(max(1, nj)) as pool:
        results = list(
            tqdm(
                pool.map(lambda c: _prepare(c, text_source), clips),
                total=len(clips), unit="clip", desc="grid_data_prep", disable=not progress,
            )
        )  # fmt: skip
    names = dict(zip(("train", "valid", "test"), set_names))
    dirs = {name: DataDir() for name in set_names}
    failures: Dict[str, Dict[str, str]] = {name: {} for name in set_names}
    for c, (ok, reason) in zip(clips, results):
        name = names[role[c.utt]]
        if ok is None:
            failures[name][c.utt] = " ".join(str(reason).split())
            continue
        d = dirs[name]
        d.text[c.utt], d.utt2dur[c.utt] = ok[0], round(ok[1], 3)
        d.utt2spk[c.utt] = c.speaker
        d.video[c.utt] = d.wav[c.utt] = str(c.media)
    return save_sets(out, dirs, failures)
