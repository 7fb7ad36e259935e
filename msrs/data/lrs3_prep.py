"""Stage 1: LRS3 (or the synthetic LRS3-layout corpus) -> Kaldi-style data directories.

Reads ``<root>/{pretrain,trainval,test}/<speaker>/<clip>.{mp4,txt}`` and writes
``<out>/<train_set>``, ``<out>/<valid_set>``, ``<out>/<test_set>`` as specified
in docs/architecture.md:

- recording ids ``<speaker>_<split>_<clip>``; pretrain clips longer than
  ``max_duration`` are cut at word boundaries into utterances
  ``<rec>_<seg:02d>`` (:func:`msrs.data.lrs3.segment_words`), listed in
  ``segments`` together with the uncut utterances of the set;
- validation: the recordings of ``valid_list`` (AV-HuBERT's ``lrs3-valid.id``
  lines such as ``trainval/UGtFXtnWME4/50021``, or recording ids) if given,
  else chosen by ``valid_mode``:

  - ``clips`` (default): AV-HuBERT's rule.  Its list is 1,200 trainval clips
    spread over 913 speakers with no speaker constraint (up to 6 clips of one
    talk), i.e. a uniform sample of trainval clips; only those recordings
    leave train.  The list itself is not shipped: it is distributed under the
    AV-HuBERT licence (non-commercial, not sublicensable).  Here the trainval
    recordings are ordered by the SHA-1 of their id and the first
    ``valid_fraction`` of them (at most ``valid_max_utts`` = 1,200, the
    number of AV-HuBERT's list) are taken: a uniform, deterministic sample
    that does not depend on the order of the files.
  - ``speakers``: a speaker-disjoint subset of trainval speakers (ordered by
    the SHA-1 of the speaker id, taken until ``valid_fraction`` of the
    trainval utterances, at most ``valid_max_utts``); all utterances of those
    speakers, pretrain included, leave the training set (so the validation
    speakers are unseen);
- train = pretrain + trainval minus validation; test = ``test/``.

Clips that cannot be used (missing or malformed ``.txt``, unreadable media,
empty transcript, all words past the media end) are listed in each set's
``failures.txt`` as ``<rec> <reason>``; preparation continues.
"""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from msrs.data import video_io
from msrs.data.datadir import DataDir, Segment, write_kv
from msrs.data.lrs3 import (
    Lrs3FormatError,
    clean_words,
    normalize_text,
    read_transcript,
    segment_words,
)

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
SPLITS = ("pretrain", "trainval", "test")


@dataclass
class Clip:
    """One LRS3 clip on disk."""

    split: str
    speaker: str
    clip: str
    media: Path

    @property
    def rec(self) -> str:
        return f"{self.speaker}_{self.split}_{self.clip}"

    @property
    def txt(self) -> Path:
        return self.media.with_suffix(".txt")


@dataclass
class Utterance:
    utt: str
    rec: str
    speaker: str
    split: str
    text: str
    start: float
    end: float
    segmented: bool


def scan_corpus(root: PathLike, splits: Sequence[str] = SPLITS) -> List[Clip]:
    """List ``<root>/<split>/<speaker>/<clip>.mp4`` clips, sorted by recording id.

    Raises:
        FileNotFoundError: none of the split folders exists.
    """
    root = Path(root)
    present = [s for s in splits if (root / s).is_dir()]
    if not present:
        raise FileNotFoundError(
            f"{root}: no {'/'.join(splits)} folders (is this an LRS3 copy?)"
        )
    clips = []
    for split in present:
        for spk_dir in sorted((root / split).iterdir()):
            if not spk_dir.is_dir():
                continue
            for media in sorted(spk_dir.glob("*.mp4")):
                if media.name.endswith(".partial.mp4"):
                    continue
                clips.append(Clip(split, spk_dir.name, media.stem, media.resolve()))
    clips.sort(key=lambda c: c.rec.encode())
    return clips


def _prepare_clip(
    clip: Clip, max_duration: float, seg_margin: float
) -> Tuple[List[Utterance], Optional[str]]:
    """Utterances of one clip, or a failure reason."""
    if not clip.txt.is_file():
        return [], f"transcript {clip.txt} not found"
    try:
        tr = read_transcript(clip.txt)
    except (Lrs3FormatError, OSError) as e:
        return [], str(e)
    try:
        duration = video_io.media_duration(clip.media)
    except video_io.MediaError as e:
        return [], str(e)
    if duration <= 0:
        return [], f"{clip.media}: zero duration"
    if clip.split == "pretrain" and duration > max_duration and tr.words:
        words, dropped = clean_words(tr.words, duration)
        if dropped:
            logger.warning(
                "%s: %d word(s) start after the media end (%.2f s); dropped",
                clip.txt,
                dropped,
                duration,
            )
        segs = segment_words(words, max_duration, duration, seg_margin)
        if not segs:
            return (
                [],
                f"{clip.txt}: no words within the media duration {duration:.2f} s",
            )
        if len(segs) > 1:
            return [
                Utterance(
                    f"{clip.rec}_{k:02d}",
                    clip.rec,
                    clip.speaker,
                    clip.split,
                    s.text,
                    s.start,
                    s.end,
                    True,
                )
                for k, s in enumerate(segs)
            ], None
    text = normalize_text(tr.text)
    if not text:
        return [], f"{clip.txt}: empty transcript"
    return [
        Utterance(
            clip.rec, clip.rec, clip.speaker, clip.split, text, 0.0, duration, False
        )
    ], None


def read_valid_list(path: PathLike) -> List[str]:
    """Recording ids from an id list (``trainval/<spk>/<clip>`` lines or rec ids)."""
    recs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.split()[0].strip("/").split("/")
        if len(parts) >= 3:
            split, spk, clip = parts[-3], parts[-2], Path(parts[-1]).stem
            recs.append(f"{spk}_{split}_{clip}")
        else:
            recs.append(parts[-1])
    return recs


def choose_valid_speakers(
    utts: Iterable[Utterance], fraction: float, max_utts: int
) -> List[str]:
    """Deterministic speaker-disjoint validation speakers among trainval utterances."""
    per_spk: Dict[str, int] = {}
    for u in utts:
        if u.split == "trainval":
            per_spk[u.speaker] = per_spk.get(u.speaker, 0) + 1
    if len(per_spk) < 2 or fraction <= 0 or max_utts <= 0:
        return []
    total = sum(per_spk.values())
    target = min(max_utts, max(1, int(round(fraction * total))))
    order = sorted(per_spk, key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    chosen, count = [], 0
    for spk in order[:-1]:  # never all speakers
        if count >= target:
            break
        chosen.append(spk)
        count += per_spk[spk]
    return chosen


def choose_valid_clips(
    utts: Iterable[Utterance], fraction: float, max_utts: int
) -> List[str]:
    """AV-HuBERT-style validation: a deterministic uniform sample of trainval clips.

    Returns:
        recording ids: the trainval recordings with the smallest SHA-1 of
        their id, ``round(fraction * count)`` of them (at least 1 when
        ``fraction > 0``), at most ``max_utts``, never all of them.
    """
    recs = sorted({u.rec for u in utts if u.split == "trainval"})
    if len(recs) < 2 or fraction <= 0 or max_utts <= 0:
        return []
    target = min(max_utts, max(1, int(round(fraction * len(recs)))), len(recs) - 1)
    return sorted(recs, key=lambda r: hashlib.sha1(r.encode()).hexdigest())[:target]


VALID_MODES = ("clips", "speakers")


def _to_datadir(utts: List[Utterance], media: Dict[str, Path]) -> DataDir:
    d = DataDir()
    segmented = any(u.segmented for u in utts)
    for u in utts:
        d.text[u.utt] = u.text
        d.utt2spk[u.utt] = u.speaker
        d.utt2dur[u.utt] = round(u.end - u.start, 3)
        d.video[u.rec] = str(media[u.rec])
        d.wav[u.rec] = str(media[u.rec])
        if segmented:
            d.segments[u.utt] = Segment(u.rec, u.start, u.end)
    return d


def prepare_lrs3(
    root: PathLike,
    out: PathLike,
    valid_list: Optional[PathLike] = None,
    valid_fraction: float = 0.05,
    valid_max_utts: int = 1200,
    max_duration: float = 16.0,
    seg_margin: float = 0.2,
    splits: Sequence[str] = SPLITS,
    set_names: Tuple[str, str, str] = ("train", "valid", "test"),
    nj: int = 4,
    progress: bool = True,
    valid_mode: str = "clips",
) -> Dict[str, int]:
    """Write the train/valid/test data directories (see module doc).

    Args:
        root: LRS3 root holding ``pretrain/``, ``trainval/``, ``test/``.
        out: parent of the data directories (e.g. ``data``).
        valid_list: validation id list (AV-HuBERT's ``lrs3-valid.id``); None:
            chosen by ``valid_mode``.
        valid_fraction: share of trainval utterances in the automatic validation set.
        valid_max_utts: cap of the automatic validation set.
        max_duration: pretrain clips longer than this (s) are segmented.
        seg_margin: seconds kept around the words of a segment.
        splits: LRS3 folders to read.
        set_names: names of the train, validation and test sets.
        nj: threads reading transcripts and media headers.
        progress: show a progress bar.
        valid_mode: without ``valid_list``: ``clips`` (AV-HuBERT's rule) or
            ``speakers`` (speaker-disjoint; see the module doc).

    Returns:
        utterance counts per set and the number of failed clips.
    """
    from tqdm import tqdm

    if valid_mode not in VALID_MODES:
        raise ValueError(f"valid_mode must be one of {VALID_MODES}, got {valid_mode!r}")
    clips = scan_corpus(root, splits)
    media = {c.rec: c.media for c in clips}
    results: Dict[str, Tuple[List[Utterance], Optional[str]]] = {}
    with ThreadPoolExecutor(max(1, nj)) as pool:
        futures = pool.map(
            lambda c: (c.rec, _prepare_clip(c, max_duration, seg_margin)), clips
        )
        for rec, res in tqdm(
            futures,
            total=len(clips),
            unit="clip",
            desc="lrs3_data_prep",
            disable=not progress,
        ):
            results[rec] = res
    utts = [u for c in clips for u in results[c.rec][0]]
    failures = {c.rec: (c.split, results[c.rec][1]) for c in clips if results[c.rec][1]}

    train_name, valid_name, test_name = set_names
    if valid_list is not None:
        valid_recs = set(read_valid_list(valid_list))
        unknown = valid_recs - {c.rec for c in clips}
        if unknown:
            logger.warning(
                "%s: %d of %d ids are not in the corpus, e.g. %s",
                valid_list,
                len(unknown),
                len(valid_recs),
                sorted(unknown)[0],
            )
        is_valid = lambda u: u.rec in valid_recs  # noqa: E731
        excluded = is_valid
    elif valid_mode == "clips":
        valid_recs = set(choose_valid_clips(utts, valid_fraction, valid_max_utts))
        is_valid = lambda u: u.rec in valid_recs  # noqa: E731
        excluded = is_valid
    else:
        speakers = set(choose_valid_speakers(utts, valid_fraction, valid_max_utts))
        is_valid = (
            lambda u: u.speaker in speakers and u.split == "trainval"
        )  # noqa: E731
        excluded = lambda u: u.speaker in speakers  # noqa: E731
    sets = {
        train_name: [
            u for u in utts if u.split in ("pretrain", "trainval") and not excluded(u)
        ],
        valid_name: [
            u for u in utts if u.split in ("pretrain", "trainval") and is_valid(u)
        ],
        test_name: [u for u in utts if u.split == "test"],
    }
    clip_of = {c.rec: c for c in clips}

    def failed_in(name: str) -> Dict[str, str]:
        """Failed clips that would have belonged to set ``name``."""
        out_f = {}
        for rec, (split, reason) in failures.items():
            c = clip_of[rec]
            probe = Utterance(rec, rec, c.speaker, split, "", 0.0, 0.0, False)
            member = {
                test_name: split == "test",
                valid_name: split != "test" and is_valid(probe),
                train_name: split != "test" and not excluded(probe),
            }[name]
            if member:
                out_f[rec] = " ".join(str(reason).split())
        return out_f

    out = Path(out)
    counts = {}
    for name, members in sets.items():
        d = _to_datadir(members, media)
        d.save(out / name)
        write_kv(out / name / "failures.txt", failed_in(name))
        counts[name] = len(members)
        if not members:
            logger.warning("%s: set %s is empty", out / name, name)
    counts["failed_clips"] = len(failures)
    return counts
