"""Score a hypothesis ``text`` against a reference ``text``: WER and CER.

Outputs in ``out_dir``:

- ``result.wrd.txt`` / ``result.chr.txt`` (``token="both"``, the default), or a
  single ``result.txt`` for ``token="word"`` / ``"char"``: sclite-like reports
  (see :mod:`msrs.scoring.sclite_format`).
- ``scores.json``: always both WER and CER, in percent::

      {"name": ..., "ref": ..., "hyp": ..., "n_utts": N,
       "wer": 12.3, "cer": 5.6,
       "word": {"n_snt", "n_ref", "n_hyp", "corr", "sub", "del", "ins", "err",
                "snt_err", "rates": {"corr", "sub", "del", "ins", "err", "snt_err"}},
       "char": {... same ...},
       "n_missing": 0, "missing": [...], "n_scored": N, "units": "percent",
       "scored": "scored N of M reference utterances",
       "wer_ci": {"lo": 10.1, "hi": 14.6, "level": 0.95, "n_resamples": 1000,
                  "seed": 0, "method": "percentile bootstrap over utterances"}}

- ``utt_errors.tsv``: per reference utterance ``utt_id speaker ref_words
  errors sub del ins`` (words; read it with
  :func:`msrs.scoring.bootstrap.read_utt_errors`).

``wer_ci`` is the bootstrap interval of :func:`msrs.scoring.bootstrap.bootstrap_wer_ci`
(absent with ``n_resamples=0`` or a reference without words).

Rules: reference utterances without a hypothesis line are scored as all
deletions (warning naming them); hypothesis ids absent from the reference are
an error naming them; empty references are allowed (see
:meth:`ErrorCounts.rates`).
"""

import json
import logging
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Union

from msrs.scoring.alignment import ErrorCounts, UttAlignment, align_utterances, tokenize
from msrs.scoring.bootstrap import UTT_ERRORS_FILE, bootstrap_wer_ci, write_utt_errors
from msrs.scoring.sclite_format import write_result
from msrs.scoring.text_io import ScoringError, read_text, read_utt2spk

logger = logging.getLogger(__name__)

TOKEN_CHOICES = ("both", "word", "char")
_MAX_NAMED = 10


def _named(ids: List[str]) -> str:
    shown = ", ".join(ids[:_MAX_NAMED])
    more = f" ... (+{len(ids) - _MAX_NAMED} more)" if len(ids) > _MAX_NAMED else ""
    return shown + more


def scored_line(n_scored: int, n_ref: int) -> str:
    """``scored N of M reference utterances`` (+ how the rest counted)."""
    line = f"scored {n_scored} of {n_ref} reference utterances"
    if n_scored < n_ref:
        line += f" ({n_ref - n_scored} without hypothesis counted as all deletions)"
    return line


def align_texts(
    ref: Dict[str, str], hyp: Dict[str, str], unit: str
) -> List[UttAlignment]:
    """Align every reference utterance with its hypothesis.

    Args:
        ref: ``{utt_id: text}`` reference (defines the utterance set/order).
        hyp: ``{utt_id: text}``; ids missing here are scored as empty.
        unit: ``"word"`` or ``"char"``.

    Returns:
        Alignments in reference order; ``missing`` marks absent hypotheses.

    Raises:
        ScoringError: ``hyp`` has ids that are not in ``ref``.
    """
    extra = [u for u in hyp if u not in ref]
    if extra:
        raise ScoringError(
            f"{len(extra)} hypothesis utterance(s) not in the reference: {_named(extra)}"
        )
    ids = list(ref)
    alignments = align_utterances(
        ids,
        [tokenize(ref[u], unit) for u in ids],
        [tokenize(hyp.get(u, ""), unit) for u in ids],
    )
    for ua in alignments:
        ua.missing = ua.utt_id not in hyp
    return alignments


def _atomic_write(path: Path, writer: Callable[[TextIO], object]) -> object:
    """Write through a temporary file so a killed job never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        result = writer(f)
    os.replace(tmp, path)
    return result


def score(
    ref_path: Union[str, Path],
    hyp_path: Union[str, Path],
    out_dir: Union[str, Path],
    token: str = "both",
    name: Optional[str] = None,
    utt2spk_path: Optional[Union[str, Path]] = None,
    n_resamples: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
) -> Dict[str, object]:
    """Score ``hyp_path`` against ``ref_path`` and write the reports.

    Args:
        ref_path: reference Kaldi ``text``.
        hyp_path: hypothesis Kaldi ``text`` (e.g. ``<decode>/1best_recog/text``).
        out_dir: output directory (created).
        token: ``"both"`` -> ``result.wrd.txt`` + ``result.chr.txt``;
            ``"word"``/``"char"`` -> ``result.txt`` at that level.
        name: system label for the tables and ``scores.json`` (default: the
            hypothesis path).
        utt2spk_path: optional ``utt2spk`` for per-speaker rows.
        n_resamples: bootstrap resamples of the WER's confidence interval
            (0: none).
        ci_level: coverage of that interval.
        seed: seed of the resampling.

    Returns:
        The ``scores.json`` content.

    Raises:
        ScoringError: unreadable input, unknown hypothesis ids, bad ``token``.
    """
    if token not in TOKEN_CHOICES:
        raise ScoringError(f"--token must be one of {TOKEN_CHOICES}, got {token!r}")
    ref = read_text(ref_path)
    hyp = read_text(hyp_path)
    if not ref:
        raise ScoringError(f"{ref_path}: the reference has no utterances")
    utt2spk = read_utt2spk(utt2spk_path) if utt2spk_path else None
    missing = [u for u in ref if u not in hyp]
    if missing:
        logger.warning(
            "%d reference utterance(s) have no hypothesis in %s; scored as all "
            "deletions: %s",
            len(missing),
            hyp_path,
            _named(missing),
        )
    name = name or str(hyp_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    word_alignments = align_texts(ref, hyp, "word")
    ci: Optional[Dict[str, object]] = None
    n_words = [ua.counts.n_ref for ua in word_alignments]
    n_errors = [ua.counts.sub + ua.counts.dels + ua.counts.ins for ua in word_alignments]
    if n_resamples > 0 and sum(n_words) > 0:
        _, lo, hi = bootstrap_wer_ci(n_errors, n_words, n_resamples, seed, ci_level)
        ci = {
            "lo": round(lo, 4),
            "hi": round(hi, 4),
            "level": ci_level,
            "n_resamples": n_resamples,
            "seed": seed,
            "method": "percentile bootstrap over utterances",
        }
    header = {
        "System": name,
        "Reference": str(ref_path),
        "Hypothesis": str(hyp_path),
        "Utterances": str(len(ref)),
        "Missing hypotheses": str(len(missing)),
        "Scored": scored_line(len(ref) - len(missing), len(ref)),
    }
    if ci is not None:
        header[f"WER {100 * ci_level:g}% CI"] = (
            f"[{ci['lo']:.2f}, {ci['hi']:.2f}] (bootstrap over utterances, "
            f"{n_resamples} resamples, seed {seed})"
        )
    if token == "both":
        files = {"word": out_dir / "result.wrd.txt", "char": out_dir / "result.chr.txt"}
    else:
        files = {token: out_dir / "result.txt"}
    totals: Dict[str, ErrorCounts] = {}
    for unit in ("word", "char"):
        alignments = word_alignments if unit == "word" else align_texts(ref, hyp, unit)
        if unit in files:
            totals[unit] = _atomic_write(
                files[unit],
                lambda f, a=alignments, u=unit: write_result(
                    f, a, name, u, header=header, utt2spk=utt2spk
                ),
            )
        else:
            total = ErrorCounts()
            for ua in alignments:
                total += ua.counts
            totals[unit] = total
    summary: Dict[str, object] = {
        "name": name,
        "ref": str(ref_path),
        "hyp": str(hyp_path),
        "n_utts": len(ref),
        "wer": round(totals["word"].rates()["err"], 4),
        "cer": round(totals["char"].rates()["err"], 4),
        "word": totals["word"].to_dict(),
        "char": totals["char"].to_dict(),
        "n_missing": len(missing),
        "missing": missing,
        "n_scored": len(ref) - len(missing),
        "scored": scored_line(len(ref) - len(missing), len(ref)),
        "units": "percent",
        "result_files": {u: p.name for u, p in files.items()},
        "utt_errors": UTT_ERRORS_FILE,
    }
    if ci is not None:
        summary["wer_ci"] = ci
    _atomic_write(
        out_dir / UTT_ERRORS_FILE,
        lambda f: write_utt_errors(
            f,
            [
                (
                    ua.utt_id,
                    (utt2spk or {}).get(ua.utt_id, ""),
                    ua.counts.n_ref,
                    ua.counts.sub + ua.counts.dels + ua.counts.ins,
                    ua.counts.sub,
                    ua.counts.dels,
                    ua.counts.ins,
                )
                for ua in word_alignments
            ],
        ),
    )
    _atomic_write(
        out_dir / "scores.json",
        lambda f: f.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n"),
    )
    return summary
