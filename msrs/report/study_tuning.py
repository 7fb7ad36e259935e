"""MSRS's sensitivity to its reconstruction choices in a regime, chosen on validation.

Our MSRS fills gaps of the paper with choices of its own (docs/sparsity.md): for
example, whether the pruned weights restart from zero when training turns dense,
and the mask's density.  Where MSRS trails the other remedies, the question is
whether the method or the choice trails.  The study runs *variants*
``<base>_<variant><setting>`` (conf/study/, written by local/make_regime_confs.py):
an MSRS configuration ``<base><setting>`` (BASES: the study's MSRS, with LayerScale,
with sparse continuation, the AVSR model) with one choice changed.

Per base, the variant to report is picked on **validation accuracy only** (the mean
over seeds of each seed's best epoch), never on a test set; its test WER is then
compared with the configuration the claims use (``<base><setting>``) and with every
other method run at that setting (AVSR: clean and in babble).
"""

import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from msrs.report import study_plots
from msrs.report.study import StudyRun, babble_snr, best_acc, summarize
from msrs.report.study_claims import Study, noisy_conditions
from msrs.report.study_regime import REGIMES, describe, modality_prefix, split_run

# variant (the part after ``<base>_``) -> what it changes, from its name
VARIANTS = {r"keep": "pruned weights keep their stored values at the switch to dense (`pruned_init: keep`)",
            r"den(\d+)": "target density {0} % instead of 30 %",
            r"search(\d+)": "mask searched for {0} epochs instead of 3"}
# MSRS configurations that have variants (longest first: ``msrs_ls_search6`` is msrs_ls's)
# -> how the report names them
BASES = {"avsr_msrs": "AVSR MSRS", "msrs_sparse": "MSRS with sparse continuation",
         "msrs_ls": "MSRS with LayerScale", "msrs": "MSRS"}


def variant_of(method: str) -> Optional[Tuple[str, str]]:
    """(base, what it changes) of sensitivity variant ``method`` (a run name without its
    setting: ``msrs_keep``, ``msrs_ls_search6``, ``avsr_msrs_search6``); None when
    ``method`` is not a variant."""
    for base in BASES:
        m = re.fullmatch(rf"{base}_([a-z]+\d*)", method)
        if not m:
            continue
        for pat, text in VARIANTS.items():
            hit = re.fullmatch(pat, m.group(1))
            if hit:
                return base, text.format(*hit.groups())
    return None


def variant_change(method: str) -> Optional[str]:
    """What MSRS variant ``method`` (``msrs_keep``, ``msrs_den50``) changes; None when
    ``method`` is not a sensitivity variant."""
    v = variant_of(method)
    return v[1] if v else None


def variants(runs: Dict[str, List[StudyRun]], setting: str, base: str = "msrs") -> List[str]:
    """The sensitivity variants of ``base`` (a key of BASES) that ran at ``setting`` (a key
    of REGIMES), by name."""
    out = []
    for m in runs:
        ms = split_run(m)
        v = variant_of(ms[0]) if ms and ms[1] == setting else None
        if v and v[0] == base:
            out.append(m)
    return sorted(out)


def val_acc(runs: List[StudyRun]):
    """Summary over seeds of the best validation accuracy of each seed."""
    return summarize([best_acc(r.curve) for r in runs])


def selected(runs: Dict[str, List[StudyRun]], setting: str, base: str = "msrs") -> Optional[str]:
    """The ``base`` configuration at ``setting`` with the highest mean best validation
    accuracy among ``<base><setting>`` and its variants; None when no variant ran."""
    cands = [m for m in [base + setting] + variants(runs, setting, base) if m in runs]
    if len(cands) < 2:
        return None
    return max(cands, key=lambda m: (val_acc(runs[m]).mean or 0.0, m == base + setting))


def _against(s: Study, pick: str, others: List[str]) -> str:
    """``pick``'s test WER against each of ``others`` (AVSR: clean and in babble)."""
    conds = noisy_conditions(s, pick)[:1]  # the hardest babble condition
    parts = []
    for m in others:
        c = f"`{m}` {s.compare_wer(m, pick)}"
        if conds and conds[0] in noisy_conditions(s, m):
            c += f" (babble {babble_snr(conds[0])} dB: {s.compare_wer(m, pick, conds[0])})"
        parts.append(c)
    return "; ".join(parts)


def tuning_section(runs: Dict[str, List[StudyRun]], s: Study, plots_dir: Optional[Path] = None,
                   out_dir: Optional[Path] = None) -> List[str]:
    """Markdown lines: per regime and MSRS configuration with variants, a table of it and
    its variants (validation accuracy, the selection criterion, then test WER), the
    variant validation picks, and its test WER against every other method at the setting
    (for a VSR base also the other bases' picks); with ``plots_dir``, a plot of their
    validation accuracy per epoch (``sensitivity<setting>_<base>.png``, linked relative to
    ``out_dir``)."""
    L: List[str] = []
    if plots_dir is not None:
        Path(plots_dir).mkdir(parents=True, exist_ok=True)
    for setting, (tag, name) in REGIMES.items():
        picks = {b: selected(runs, setting, b) for b in BASES}
        for base in reversed(BASES):  # msrs first
            pick = picks[base]
            if pick is None:
                continue
            ref = base + setting
            L += [f"### {BASES[base][0].upper() + BASES[base][1:]}'s sensitivity in the {name} "
                  f"({describe(runs[pick])})", "",
                  f"`{ref}` (the configuration the claims use) against variants with one reconstruction "
                  "choice changed. The variant is picked on validation accuracy only (mean over seeds of "
                  "each seed's best epoch); test WER is read once per final model.", "",
                  "| method | change | seeds | best valid acc (selection) | test WER (%) | WER vs "
                  f"`{ref}` |", "|---|---|---|---|---|---|"]
            table = [m for m in [ref] + variants(runs, setting, base) if m in runs]
            for m in table:
                change = variant_change(split_run(m)[0]) or f"none (the study's {BASES[base]})"
                vs = "" if m == ref or ref not in runs else s.compare_wer(m, ref)
                L.append(f"| {m} | {change} | {len(runs[m])} | {val_acc(runs[m]).fmt(3)} | "
                         f"{s.wer(m).fmt(1)} | {vs} |")
            mod = modality_prefix(base)
            avsr = mod == "avsr_"
            # the non-MSRS runs of the same modality at this setting (quarter-speaker runs are
            # not regime settings: split_run leaves them out)
            others = sorted(m for m, ms in ((m, split_run(m)) for m in runs)
                            if ms and ms[1] == setting and modality_prefix(m) == mod
                            and not ms[0].removeprefix(mod).startswith("msrs"))
            other_picks = [q for b, q in picks.items() if q and b != base and modality_prefix(b) == mod]
            p = None if plots_dir is None else study_plots.accuracy_curves(
                {m: runs[m] for m in table}, s.target_of(ref),
                Path(plots_dir) / f"sensitivity{setting}_{base}.png")
            if p is not None:
                L += ["", f"![Validation accuracy per epoch, {BASES[base]} and its variants]("
                      + os.path.relpath(p, out_dir or p.parent) + ")"]
            L += ["", f"Validation picks `{pick}`. Its test WER against every other "
                  + ("AVSR " * avsr) + "method at this setting"
                  + (" and the other MSRS configurations' picks" * bool(other_picks))
                  + " (the method's WER is lower, higher, or no different from the picked configuration's): "
                  + _against(s, pick, others + other_picks) + ".", ""]
    return L
