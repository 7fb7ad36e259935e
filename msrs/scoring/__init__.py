"""WER/CER scoring with sclite-like reports (``python -m msrs.bin.score``).

- :mod:`msrs.scoring.text_io`: Kaldi ``text`` / ``utt2spk`` readers.
- :mod:`msrs.scoring.alignment`: tokenisation and jiwer-based alignment.
- :mod:`msrs.scoring.sclite_format`: the ``result.txt`` layout.
- :mod:`msrs.scoring.scorer`: :func:`score` (files in, reports out).
"""

from msrs.scoring.alignment import ErrorCounts, UttAlignment, align_utterances, tokenize
from msrs.scoring.scorer import align_texts, score
from msrs.scoring.text_io import ScoringError, read_text, read_utt2spk

__all__ = [
    "ErrorCounts",
    "ScoringError",
    "UttAlignment",
    "align_texts",
    "align_utterances",
    "read_text",
    "read_utt2spk",
    "score",
    "tokenize",
]
