"""Bootstrap confidence interval of a corpus word error rate.

A test set's WER is ``sum(errors) / sum(reference words)`` over its
utterances.  :func:`bootstrap_wer_ci` resamples the utterances with
replacement ``n_resamples`` times, recomputes that ratio on each resample and
takes the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the
resampled WERs (the percentile bootstrap, e.g. Bisani & Ney, ICASSP 2004).
Everything is in percent; the draw is fixed by ``seed``.

The interval says how much the figure would move with another draw of test
*utterances* like these.  Utterances of one speaker are correlated, so it is
narrower than the spread over new *speakers*; pass ``groups`` (e.g. the
speaker of each utterance) to resample whole groups instead (a cluster
bootstrap), which measures that.

Per-utterance counts of a scored decoding: :func:`read_utt_errors` reads
``<decode dir>/score/utt_errors.tsv`` (written by :func:`msrs.scoring.score`),
or, for a score directory written before that file existed, the
``Scores: (#C #S #D #I)`` lines of its ``result.wrd.txt``.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Hashable, List, Optional, Sequence, TextIO, Tuple, Union

import numpy as np

UTT_ERRORS_FILE = "utt_errors.tsv"
UTT_ERRORS_COLUMNS = ("utt_id", "speaker", "ref_words", "errors", "sub", "del", "ins")
_CHUNK = 2_000_000  # resampled indices held at once


def bootstrap_wer_samples(
    errors: Sequence[int],
    ref_words: Sequence[int],
    n_resamples: int = 1000,
    seed: int = 0,
    groups: Optional[Sequence[Hashable]] = None,
) -> np.ndarray:
    """The resampled corpus WERs (percent), one per resample.

    Args:
        errors: word errors (S + D + I) per utterance.
        ref_words: reference words per utterance (same length as ``errors``).
        n_resamples: number of resamples.
        seed: seed of the resampling (``numpy.random.default_rng``).
        groups: optional group label per utterance (e.g. its speaker); whole
            groups are resampled instead of utterances.

    Returns:
        ``float64`` array of ``n_resamples`` WERs; a resample without any
        reference word (possible only with empty references) is NaN.

    Raises:
        ValueError: empty input, different lengths, negative counts, no
            reference word at all, ``n_resamples < 1``.
    """
    err = np.asarray(errors, dtype=np.int64)
    ref = np.asarray(ref_words, dtype=np.int64)
    if err.ndim != 1 or ref.ndim != 1 or len(err) != len(ref):
        raise ValueError(
            f"errors and ref_words must be flat and of equal length, got "
            f"{err.shape} and {ref.shape}"
        )
    if len(err) == 0:
        raise ValueError("no utterances")
    if (err < 0).any() or (ref < 0).any():
        raise ValueError("error and word counts must be >= 0")
    if ref.sum() == 0:
        raise ValueError("no reference words: the WER is undefined")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if groups is not None:
        if len(groups) != len(err):
            raise ValueError("groups must have one label per utterance")
        labels = {}
        idx = np.array([labels.setdefault(g, len(labels)) for g in groups])
        err = np.bincount(idx, weights=err, minlength=len(labels))
        ref = np.bincount(idx, weights=ref, minlength=len(labels))
    n = len(err)
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples, dtype=np.float64)
    step = max(1, _CHUNK // n)
    for start in range(0, n_resamples, step):
        k = min(step, n_resamples - start)
        pick = rng.integers(0, n, size=(k, n))
        e = err[pick].sum(axis=1)
        r = ref[pick].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + k] = np.where(r > 0, 100.0 * e / np.maximum(r, 1), np.nan)
    return out


def bootstrap_wer_ci(
    errors: Sequence[int],
    ref_words: Sequence[int],
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groups: Optional[Sequence[Hashable]] = None,
) -> Tuple[float, float, float]:
    """Corpus WER and its percentile-bootstrap confidence interval, in percent.

    Args:
        errors: word errors (S + D + I) per utterance.
        ref_words: reference words per utterance.
        n_resamples: resamples (1000 by default).
        seed: resampling seed (fixed: the same counts give the same interval).
        level: coverage of the interval (0.95: the 2.5 and 97.5 percentiles).
        groups: optional group label per utterance (e.g. speaker): resample
            whole groups (cluster bootstrap) instead of utterances.

    Returns:
        ``(wer, lo, hi)``: ``wer = 100 * sum(errors) / sum(ref_words)`` and
        the interval's ends.

    Raises:
        ValueError: see :func:`bootstrap_wer_samples`; ``level`` not in (0, 1).

    Example:
        >>> bootstrap_wer_ci([1, 1], [4, 4])
        (25.0, 25.0, 25.0)
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    samples = bootstrap_wer_samples(errors, ref_words, n_resamples, seed, groups)
    wer = 100.0 * float(np.sum(errors)) / float(np.sum(ref_words))
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.nanpercentile(samples, [tail, 100.0 - tail])
    return wer, float(lo), float(hi)


@dataclass
class UttErrors:
    """Word-level counts per test utterance of one scored decoding."""

    utt_ids: List[str] = field(default_factory=list)
    speakers: List[Optional[str]] = field(default_factory=list)
    ref_words: List[int] = field(default_factory=list)
    errors: List[int] = field(default_factory=list)

    def wer_ci(self, **kwargs) -> Tuple[float, float, float]:
        """:func:`bootstrap_wer_ci` of these counts (keyword options passed on)."""
        return bootstrap_wer_ci(self.errors, self.ref_words, **kwargs)


def write_utt_errors(dest: Union[str, Path, TextIO], rows: Sequence[Sequence]) -> None:
    """Write ``utt_errors.tsv``: a header, then one row per utterance.

    Args:
        dest: output file path or open text file.
        rows: ``(utt_id, speaker or "", ref_words, errors, sub, del, ins)``.
    """
    if isinstance(dest, (str, Path)):
        with open(dest, "w", encoding="utf-8", newline="") as f:
            write_utt_errors(f, rows)
        return
    w = csv.writer(dest, delimiter="\t", lineterminator="\n")
    w.writerow(UTT_ERRORS_COLUMNS)
    w.writerows(rows)


_ID = re.compile(r"^id: \((?P<utt>.*)\)\s*$")
_SCORES = re.compile(r"^Scores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)\s*$")


def _from_result_txt(path: Path) -> UttErrors:
    out = UttErrors()
    utt = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ID.match(line)
        if m:
            utt = m.group("utt")
            continue
        m = _SCORES.match(line)
        if m and utt is not None:
            c, s, d, i = (int(x) for x in m.groups())
            out.utt_ids.append(utt)
            out.speakers.append(None)
            out.ref_words.append(c + s + d)
            out.errors.append(s + d + i)
            utt = None
    return out


def read_utt_errors(path: Union[str, Path]) -> UttErrors:
    """Per-utterance word errors and reference words of a scored decoding.

    Args:
        path: a decode directory (``<exp>/<model>/decode_*``), its ``score/``
            directory, an ``utt_errors.tsv`` or a word-level sclite-like
            ``result.wrd.txt`` / ``result.txt``.

    Returns:
        :class:`UttErrors` in the reference order (speakers ``None`` when
        read from a result file).

    Raises:
        FileNotFoundError: no such file under ``path``.
    """
    p = Path(path)
    if p.is_dir():
        for cand in (
            p / UTT_ERRORS_FILE,
            p / "score" / UTT_ERRORS_FILE,
            p / "result.wrd.txt",
            p / "score" / "result.wrd.txt",
        ):
            if cand.is_file():
                p = cand
                break
        else:
            raise FileNotFoundError(
                f"{path}: no {UTT_ERRORS_FILE} or result.wrd.txt (run msrs.bin.score)"
            )
    if p.suffix != ".tsv":
        return _from_result_txt(p)
    out = UttErrors()
    with open(p, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.utt_ids.append(row["utt_id"])
            out.speakers.append(row["speaker"] or None)
            out.ref_words.append(int(row["ref_words"]))
            out.errors.append(int(row["errors"]))
    return out


__all__ = [
    "UTT_ERRORS_FILE",
    "UttErrors",
    "bootstrap_wer_ci",
    "bootstrap_wer_samples",
    "read_utt_errors",
    "write_utt_errors",
]
