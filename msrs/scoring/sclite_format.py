"""sclite-like ``result.txt``: summary table(s), then per-utterance alignments.

The layout imitates ``sclite -o all stdout`` as ESPnet's ``asr.sh`` stores it
in ``score_wer/result.txt``, so the usual greps keep working::

    grep -e Avg -e SPKR -m 2 result.txt

1. ``SYSTEM SUMMARY PERCENTAGES by SPEAKER``: one row per speaker (when an
   ``utt2spk`` is given), then the ``Sum/Avg`` row
   ``| Sum/Avg | #Snt #Wrd | Corr Sub Del Ins Err S.Err |`` (percentages with
   one decimal), then Mean/S.D./Median over speakers.
2. ``DUMP OF SYSTEM ALIGNMENT STRUCTURE``: for every utterance ::

       id: (utt_id)
       Scores: (#C #S #D #I) 5 1 0 1
       REF:  the cat SAT on the mat ***
       HYP:  the cat SET on the mat NOW
       Eval:         S                I

   Correct tokens are lower-cased and errors upper-cased (sclite's ``pra``
   style); the missing side of an insertion/deletion is ``*`` repeated to the
   column width.
"""

import statistics
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, TextIO

from msrs.scoring.alignment import ErrorCounts, UttAlignment

_COLS = ("corr", "sub", "del", "ins", "err", "snt_err")


def format_alignment(ua: UttAlignment) -> List[str]:
    """Format one utterance as sclite ``pra`` lines.

    Args:
        ua: the utterance's alignment.

    Returns:
        Lines ``id:``, ``Scores:``, ``REF:``, ``HYP:``, ``Eval:`` (no newlines).
    """
    c = ua.counts
    ref_cells, hyp_cells, eval_cells = [], [], []
    for op, r, h in ua.pairs:
        if op == "C":
            rs, hs = r.lower(), h.lower()
        else:
            rs = r.upper() if r is not None else None
            hs = h.upper() if h is not None else None
        width = max(len(rs or ""), len(hs or ""), 1)
        rs = rs if rs is not None else "*" * width
        hs = hs if hs is not None else "*" * width
        ref_cells.append(rs.ljust(width))
        hyp_cells.append(hs.ljust(width))
        eval_cells.append(("" if op == "C" else op).ljust(width))
    lines = [
        f"id: ({ua.utt_id})",
        f"Scores: (#C #S #D #I) {c.corr} {c.sub} {c.dels} {c.ins}",
        ("REF:  " + " ".join(ref_cells)).rstrip(),
        ("HYP:  " + " ".join(hyp_cells)).rstrip(),
        ("Eval: " + " ".join(eval_cells)).rstrip(),
    ]
    if ua.missing:
        lines.insert(1, "Note: no hypothesis for this utterance (scored as deletions)")
    return lines


def _row(label: str, snt: str, wrd: str, vals: Sequence[str], w: int) -> str:
    return (
        f"| {label:<{w}} | {snt:>5} {wrd:>7} | "
        + " ".join(f"{v:>6}" for v in vals)
        + " |"
    )


def format_summary(
    name: str,
    total: ErrorCounts,
    per_speaker: Optional[Dict[str, ErrorCounts]] = None,
) -> List[str]:
    """Format the sclite-like percentage summary table.

    Args:
        name: system label shown in the table header.
        total: counts over all utterances (the ``Sum/Avg`` row).
        per_speaker: optional per-speaker counts (rows, then Mean/S.D./Median).

    Returns:
        Table lines.
    """
    labels = list(per_speaker or {}) + ["Sum/Avg", "Mean", "S.D.", "Median"]
    w = max(len(x) for x in labels)
    inner = len(_row("", "", "", [""] * 6, w)) - 2
    bar = "|" + "-" * inner + "|"
    dbl = "|" + "=" * inner + "|"
    lines = [
        "SYSTEM SUMMARY PERCENTAGES by SPEAKER",
        "",
        "," + "-" * inner + ".",
        "|" + name.center(inner)[:inner] + "|",
        bar,
        _row(
            "SPKR", "# Snt", "# Wrd", ["Corr", "Sub", "Del", "Ins", "Err", "S.Err"], w
        ),
        bar,
    ]

    def fmt(c: ErrorCounts, label: str) -> str:
        r = c.rates()
        return _row(
            label, str(c.n_snt), str(c.n_ref), [f"{r[k]:.1f}" for k in _COLS], w
        )

    if per_speaker:
        for spk, c in per_speaker.items():
            lines.append(fmt(c, spk))
        lines.append(dbl)
    lines.append(fmt(total, "Sum/Avg"))
    if per_speaker:
        lines.append(dbl)
        spk_counts = list(per_speaker.values())
        snt = [float(c.n_snt) for c in spk_counts]
        wrd = [float(c.n_ref) for c in spk_counts]
        rates = [c.rates() for c in spk_counts]
        for label, fn in (
            ("Mean", statistics.fmean),
            ("S.D.", lambda x: statistics.stdev(x) if len(x) > 1 else 0.0),
            ("Median", statistics.median),
        ):
            lines.append(
                _row(
                    label,
                    f"{fn(snt):.1f}",
                    f"{fn(wrd):.1f}",
                    [f"{fn([r[k] for r in rates]):.1f}" for k in _COLS],
                    w,
                )
            )
    lines.append("`" + "-" * inner + "'")
    return lines


def group_by_speaker(
    alignments: Iterable[UttAlignment], utt2spk: Dict[str, str]
) -> Dict[str, ErrorCounts]:
    """Sum counts per speaker (speakers sorted; unknown utterances -> ``<unknown>``)."""
    per: Dict[str, ErrorCounts] = {}
    for ua in alignments:
        spk = utt2spk.get(ua.utt_id, "<unknown>")
        per.setdefault(spk, ErrorCounts())
        per[spk] += ua.counts
    return OrderedDict(sorted(per.items()))


def write_result(
    f: TextIO,
    alignments: Sequence[UttAlignment],
    name: str,
    unit: str,
    header: Optional[Dict[str, str]] = None,
    utt2spk: Optional[Dict[str, str]] = None,
) -> ErrorCounts:
    """Write a complete sclite-like ``result.txt``.

    Args:
        f: text stream to write to.
        alignments: per-utterance alignments (file order is kept).
        name: system label.
        unit: ``"word"`` or ``"char"`` (shown in the header).
        header: extra ``key: value`` lines for the header (ref/hyp paths ...).
        utt2spk: optional speaker map for the per-speaker rows.

    Returns:
        The total counts.
    """
    total = ErrorCounts()
    for ua in alignments:
        total += ua.counts
    per_speaker = group_by_speaker(alignments, utt2spk) if utt2spk else None
    f.write(f"msrs scoring report ({unit} level; sclite-like layout)\n")
    for k, v in (header or {}).items():
        f.write(f"{k}: {v}\n")
    f.write("\n")
    for line in format_summary(name, total, per_speaker):
        f.write("    " + line + "\n")
    f.write("\n\nDUMP OF SYSTEM ALIGNMENT STRUCTURE\n\n")
    for ua in alignments:
        for line in format_alignment(ua):
            f.write(line + "\n")
        f.write("\n")
    return total
