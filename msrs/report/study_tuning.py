"""MSRS's sensitivity to its reconstruction choices in a regime, chosen on validation.

Our MSRS fills gaps of the paper with choices of its own (docs/sparsity.md): for
example, whether the pruned weights restart from zero when training turns dense,
and the mask's density.  Where MSRS trails the other remedies, the question is
whether the method or the choice trails.  The study runs *variants*
``msrs_<variant><setting>`` (conf/study/, written by local/make_regime_confs.py):
``msrs<setting>`` with one choice changed.

The variant to report is picked on **validation accuracy only** (the mean over seeds
of each seed's best epoch), never on a test set; its test WER is then compared with
the configuration the claims use (``msrs<setting>``) and with every other method
run at that setting.
"""

import re
from typing import Dict, List, Optional

from msrs.report.study import StudyRun, best_acc, summarize
from msrs.report.study_claims import Study
from msrs.report.study_regime import FACTOR, REGIMES, describe, regime_of

# variant name (the part after ``msrs_``) -> what it changes, from its name
VARIANTS = {r"keep": "pruned weights keep their stored values at the switch to dense (`pruned_init: keep`)",
            r"den(\d+)": "target density {0} % instead of 30 %",
            r"search(\d+)": "mask searched for {0} epochs instead of 3"}


def variant_change(method: str) -> Optional[str]:
    """What MSRS variant ``method`` (``msrs_keep``, ``msrs_den50``) changes; None when
    ``method`` is not a sensitivity variant."""
    m = re.fullmatch(r"msrs_([a-z]+\d*)", method)
    for pat, text in VARIANTS.items():
        hit = re.fullmatch(pat, m.group(1)) if m else None
        if hit:
            return text.format(*hit.groups())
    return None


def variants(runs: Dict[str, List[StudyRun]], setting: str) -> List[str]:
    """The sensitivity variants of MSRS that ran at ``setting`` (a key of REGIMES), by name."""
    return sorted(m for m in runs
                  if FACTOR.match(m) and FACTOR.match(m).group("setting") == setting
                  and variant_change(FACTOR.match(m).group("method")))


def val_acc(runs: List[StudyRun]):
    """Summary over seeds of the best validation accuracy of each seed."""
    return summarize([best_acc(r.curve) for r in runs])


def selected(runs: Dict[str, List[StudyRun]], setting: str) -> Optional[str]:
    """The MSRS configuration at ``setting`` with the highest mean best validation
    accuracy among ``msrs<setting>`` and its variants; None when no variant ran."""
    cands = [m for m in ["msrs" + setting] + variants(runs, setting) if m in runs]
    if len(cands) < 2:
        return None
    return max(cands, key=lambda m: (val_acc(runs[m]).mean or 0.0, m == "msrs" + setting))


def tuning_section(runs: Dict[str, List[StudyRun]], s: Study) -> List[str]:
    """Markdown lines: per regime with variants, a table of MSRS and its variants
    (validation accuracy, the selection criterion, then test WER), the variant
    validation picks, and its test WER against every other method at the setting."""
    L: List[str] = []
    for setting, (tag, name) in REGIMES.items():
        pick = selected(runs, setting)
        if pick is None:
            continue
        base = "msrs" + setting
        L += [f"### MSRS's sensitivity in the {name} ({describe(runs[pick])})", "",
              f"`{base}` (the configuration the claims use) against variants with one reconstruction "
              "choice changed. The variant is picked on validation accuracy only (mean over seeds of "
              "each seed's best epoch); test WER is read once per final model.", "",
              "| method | change | seeds | best valid acc (selection) | test WER (%) | WER vs "
              f"`{base}` |", "|---|---|---|---|---|---|"]
        for m in [base] + variants(runs, setting):
            if m not in runs:
                continue
            change = variant_change(FACTOR.match(m).group("method")) or "none (the study's MSRS)"
            vs = "" if m == base or base not in runs else s.compare_wer(m, base)
            L.append(f"| {m} | {change} | {len(runs[m])} | {val_acc(runs[m]).fmt(3)} | {s.wer(m).fmt(1)} | {vs} |")
        others = [m for m in runs if regime_of(m) == setting and FACTOR.match(m)
                  and not FACTOR.match(m).group("method").startswith("msrs")]
        L += ["", f"Validation picks `{pick}`. Its test WER against every other method at this setting "
              "(the method's WER is lower, higher, or no different from the picked MSRS's): "
              + "; ".join(f"`{m}` {s.compare_wer(m, pick)}" for m in sorted(others)) + ".", ""]
    return L
