"""Token-level alignment of reference and hypothesis transcripts.

The edit-distance alignment is ``jiwer.process_words`` (Levenshtein through
rapidfuzz).  Error totals therefore equal the Levenshtein distance.  sclite
weights substitutions 4 and insertions/deletions 3, so on ties (e.g.
``A B C`` -> ``A C D``: two substitutions or one deletion plus one insertion)
the split into #S/#D/#I can differ from sclite's; #S+#D+#I can only be
smaller or equal.

Units:

- ``word``: whitespace-separated words.
- ``char``: characters, with the space between words as the token
  ``<space>`` (ESPnet's ``CharTokenizer`` convention and what ESPnet's
  ``score_cer`` feeds to sclite).  Spaces therefore count in the CER, as they
  do in ``jiwer.cer``.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import jiwer

SPACE = "<space>"
UNITS = ("word", "char")


def tokenize(text: str, unit: str) -> List[str]:
    """Split a transcript into scoring tokens.

    Args:
        text: transcript; runs of whitespace count as one space.
        unit: ``"word"`` or ``"char"``.

    Returns:
        Tokens; for ``char`` the spaces between words are ``<space>``.

    Raises:
        ValueError: unknown ``unit``.
    """
    words = text.split()
    if unit == "word":
        return words
    if unit == "char":
        tokens: List[str] = []
        for i, w in enumerate(words):
            if i:
                tokens.append(SPACE)
            tokens.extend(w)
        return tokens
    raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")


@dataclass
class ErrorCounts:
    """Correct/substituted/deleted/inserted token counts of some utterances.

    Attributes:
        corr: reference tokens matched (#C).
        sub: substitutions (#S).
        dels: deletions (#D).
        ins: insertions (#I).
        n_snt: number of utterances (#Snt).
        n_snt_err: utterances with at least one error.
    """

    corr: int = 0
    sub: int = 0
    dels: int = 0
    ins: int = 0
    n_snt: int = 0
    n_snt_err: int = 0

    @property
    def n_ref(self) -> int:
        """Reference tokens (#Wrd) = #C + #S + #D."""
        return self.corr + self.sub + self.dels

    @property
    def n_hyp(self) -> int:
        """Hypothesis tokens = #C + #S + #I."""
        return self.corr + self.sub + self.ins

    @property
    def err(self) -> int:
        """#S + #D + #I."""
        return self.sub + self.dels + self.ins

    def __iadd__(self, other: "ErrorCounts") -> "ErrorCounts":
        self.corr += other.corr
        self.sub += other.sub
        self.dels += other.dels
        self.ins += other.ins
        self.n_snt += other.n_snt
        self.n_snt_err += other.n_snt_err
        return self

    def rates(self) -> Dict[str, float]:
        """Percentages as in sclite's summary.

        Token rates are relative to #Wrd; when #Wrd is 0 (only empty
        references) the denominator is 1, so each inserted token counts 100 %
        (jiwer's convention; our choice for an undefined rate).  ``snt_err``
        is relative to #Snt (0 when there are no utterances).

        Returns:
            ``{"corr", "sub", "del", "ins", "err", "snt_err"}`` in percent.
        """
        n = max(self.n_ref, 1)
        return {
            "corr": 100.0 * self.corr / n,
            "sub": 100.0 * self.sub / n,
            "del": 100.0 * self.dels / n,
            "ins": 100.0 * self.ins / n,
            "err": 100.0 * self.err / n,
            "snt_err": 100.0 * self.n_snt_err / max(self.n_snt, 1),
        }

    def to_dict(self) -> Dict[str, object]:
        """JSON-ready counts plus ``rates`` (percent)."""
        return {
            "n_snt": self.n_snt,
            "n_ref": self.n_ref,
            "n_hyp": self.n_hyp,
            "corr": self.corr,
            "sub": self.sub,
            "del": self.dels,
            "ins": self.ins,
            "err": self.err,
            "snt_err": self.n_snt_err,
            "rates": {k: round(v, 4) for k, v in self.rates().items()},
        }


# One aligned column: (op, ref token or None, hyp token or None); op is one of
# "C" (correct), "S", "D", "I".
AlignedPair = Tuple[str, Optional[str], Optional[str]]


@dataclass
class UttAlignment:
    """Alignment of one utterance.

    Attributes:
        utt_id: utterance id.
        pairs: aligned columns ``(op, ref, hyp)``; ``op`` in ``C S D I``.
        counts: the utterance's error counts (``n_snt == 1``).
        missing: the hypothesis had no line for this utterance.
    """

    utt_id: str
    pairs: List[AlignedPair] = field(default_factory=list)
    counts: ErrorCounts = field(default_factory=ErrorCounts)
    missing: bool = False


_OP = {"equal": "C", "substitute": "S", "delete": "D", "insert": "I"}


def align_utterances(
    utt_ids: Sequence[str],
    refs: Sequence[Sequence[str]],
    hyps: Sequence[Sequence[str]],
) -> List[UttAlignment]:
    """Align token sequences utterance by utterance.

    Args:
        utt_ids: ids, one per utterance.
        refs: reference tokens per utterance (may be empty).
        hyps: hypothesis tokens per utterance (may be empty).

    Returns:
        One :class:`UttAlignment` per utterance, in input order.
    """
    if not (len(utt_ids) == len(refs) == len(hyps)):
        raise ValueError("utt_ids, refs and hyps must have the same length")
    if not utt_ids:
        return []
    # Tokens never contain whitespace, so joining with spaces is lossless for
    # jiwer's default word split.  One call aligns the whole corpus.
    out = jiwer.process_words([" ".join(r) for r in refs], [" ".join(h) for h in hyps])
    result: List[UttAlignment] = []
    for utt, ref, hyp, chunks in zip(
        utt_ids, out.references, out.hypotheses, out.alignments
    ):
        ua = UttAlignment(utt_id=utt)
        c = ua.counts
        for ch in chunks:
            op = _OP[ch.type]
            if op in "CS":
                for i, j in zip(
                    range(ch.ref_start_idx, ch.ref_end_idx),
                    range(ch.hyp_start_idx, ch.hyp_end_idx),
                ):
                    ua.pairs.append((op, ref[i], hyp[j]))
                if op == "C":
                    c.corr += ch.ref_end_idx - ch.ref_start_idx
                else:
                    c.sub += ch.ref_end_idx - ch.ref_start_idx
            elif op == "D":
                for i in range(ch.ref_start_idx, ch.ref_end_idx):
                    ua.pairs.append(("D", ref[i], None))
                c.dels += ch.ref_end_idx - ch.ref_start_idx
            else:
                for j in range(ch.hyp_start_idx, ch.hyp_end_idx):
                    ua.pairs.append(("I", None, hyp[j]))
                c.ins += ch.hyp_end_idx - ch.hyp_start_idx
        c.n_snt = 1
        c.n_snt_err = int(c.err > 0)
        result.append(ua)
    return result
