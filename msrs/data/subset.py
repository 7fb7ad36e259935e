"""Subsets of data directories: by duration, by hours, by utterance-id pattern.

Works on stage-1 ``data/<set>`` (durations from ``utt2dur``) and stage-2
``dump/<set>`` (``utt2num_frames`` / 25).  Typical uses: the <= 4 s curriculum
subset (Auto-AVSR keeps rows with <= 100 frames), and low-data training sets
(30 h, 10 h, 1 h).

Hours subsets are nested: utterances are taken in one seeded random order
until the target is reached, so with the same seed the 1 h set is contained in
the 10 h set, which is contained in the 30 h set.
"""

import re
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np

from msrs.data.datadir import DataDir, DataDirError, sort_key

PathLike = Union[str, Path]
FPS = 25.0


def durations(data: DataDir, where: str = "") -> Dict[str, float]:
    """Seconds per utterance from ``utt2num_frames`` (preferred) or ``utt2dur``.

    Raises:
        DataDirError: neither file covers all utterances.
    """
    if data.utt2num_frames and all(u in data.utt2num_frames for u in data.text):
        return {u: data.utt2num_frames[u] / FPS for u in data.text}
    if data.utt2dur and all(u in data.utt2dur for u in data.text):
        return {u: data.utt2dur[u] for u in data.text}
    raise DataDirError(
        f"{where}: needs utt2num_frames or utt2dur covering all utterances"
    )


def select(
    data: DataDir,
    max_duration: Optional[float] = None,
    min_duration: Optional[float] = None,
    hours: Optional[float] = None,
    utt_regex: Optional[str] = None,
    seed: int = 0,
    where: str = "",
) -> List[str]:
    """Utterance ids passing all given filters, in byte order.

    Args:
        data: the directory.
        max_duration: keep utterances of at most this many seconds.
        min_duration: keep utterances of at least this many seconds.
        hours: after the other filters, keep a seeded random subset totalling
            at most this many hours (nested across targets for one seed).
        utt_regex: keep ids matching this regular expression (``re.search``).
        seed: order of the hours subset.
        where: name for error messages.
    """
    utts = data.utterances()
    if utt_regex:
        try:
            pattern = re.compile(utt_regex)
        except re.error as e:
            raise ValueError(
                f"--utt_regex: invalid pattern {utt_regex!r} ({e})"
            ) from None
        utts = [u for u in utts if pattern.search(u)]
    if max_duration is not None or min_duration is not None or hours is not None:
        dur = durations(data, where)
        if max_duration is not None:
            utts = [u for u in utts if dur[u] <= max_duration + 1e-9]
        if min_duration is not None:
            utts = [u for u in utts if dur[u] >= min_duration - 1e-9]
        if hours is not None:
            if hours <= 0:
                raise ValueError(f"--hours must be positive, got {hours}")
            order = np.random.default_rng(seed).permutation(len(data.text))
            everything = data.utterances()
            allowed = set(utts)
            budget, chosen = hours * 3600.0, []
            for i in order:
                u = everything[i]
                if u not in allowed:
                    continue
                if dur[u] > budget:
                    break
                chosen.append(u)
                budget -= dur[u]
            utts = sorted(chosen, key=sort_key)
    return utts


def write_subset(src: PathLike, dst: PathLike, utts: List[str]) -> Dict[str, float]:
    """Copy ``src`` restricted to ``utts`` into ``dst`` (all standard files filtered).

    Returns:
        ``{"utterances", "hours"}`` of the subset (hours when durations are known).
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError(f"--out must differ from --data ({src})")
    data = DataDir.load(src)
    sub = data.subset(utts)
    sub.save(dst)
    try:
        hours = sum(durations(sub, str(dst)).values()) / 3600.0
    except DataDirError:
        hours = float("nan")
    return {"utterances": len(utts), "hours": hours}
