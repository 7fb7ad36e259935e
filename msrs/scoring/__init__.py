"""WER/CER scoring with sclite-like reports (``python -m msrs.bin.score``).

- :mod:`msrs.scoring.text_io`: Kaldi ``text`` / ``utt2spk`` readers.
- :mod:`msrs.scoring.alignment`: tokenisation and jiwer-based alignment.
- :mod:`msrs.scoring.sclite_format`: the ``result.txt`` layout.
- :mod:`msrs.scoring.scorer`: :func:`score` (files in, reports out).
- :mod:`msrs.scoring.bootstrap`: :func:`bootstrap_wer_ci` (WER with a
  bootstrap confidence interval) and :func:`read_utt_errors` (per-utterance
  counts of a scored decoding).
"""

from msrs.scoring.alignment import ErrorCounts, UttAlignment, align_utterances, tokenize
from msrs.scoring.bootstrap import UttErrors, bootstrap_wer_ci, read_utt_errors
from msrs.scoring.scorer import align_texts, score
from msrs.scoring.text_io import ScoringError, read_text, read_utt2spk

__all__ = [
    "ErrorCounts",
    "ScoringError",
    "UttAlignment",
    "UttErrors",
    "align_texts",
    "align_utterances",
    "bootstrap_wer_ci",
    "read_text",
    "read_utt2spk",
    "read_utt_errors",
    "score",
    "tokenize",
]
