"""The regime search of issue 12 in the study report.

The paper's phenomenon is a deep model that dense training cannot train from
scratch.  The study's default model (2 conformer blocks, CTC weight 0.5, no
dropout) trains densely, so the study also runs:

* the *factor* configs ``dense_d<blocks>[_ctc01][_drop][_lr<m>e<k>]`` (conf/study/):
  dense with a subset of the deep regime's three factors (8 encoder blocks, CTC
  weight 0.1, dropout 0.1), or with a lower peak learning rate (m x 10^-k), to see
  which one makes dense training stall; ``msrs_<same suffix>`` is MSRS and
  ``curriculum_<same suffix>`` Auto-AVSR's curriculum at that setting;
* the *deep* regime ``<method>_deep`` (all three factors): ``dense_deep``,
  ``msrs_deep``, Auto-AVSR's fix ``curriculum_deep``, LayerScale ``*_ls_deep``;
* the deep regime with a longer budget, ``<method>_deep_e<epochs>``.

Claims (a)-(g) are judged again in each regime of ``REGIMES`` -- the boundary regime
(every method at depth 4) and the marginal deep regime (depth 8 at lr 0.0025, where
dense training fails in some seeds) -- and claims (a), (b) and (e) in the deep regime, with the rules of
:mod:`msrs.report.study_claims` (``dense_deep``, ``msrs_deep`` for ``dense``, ``msrs``),
and claim (d) on the 36-epoch runs (``msrs_deep_e36`` against ``dense_deep_e36``, to
the study's target validation accuracy).
"""

import math
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from msrs.report import study_plots
from msrs.report.study import StudyRun, best_acc, choose_target, early_layer_norms, fmt_ci, summarize
from msrs.report.study_claims import (Claim, Study, claim_babble, claim_fails, claim_grad, claim_layer_scale,
                                      claim_less_data, claim_sparse, claim_time, claim_trains)

# <method>_<setting>: a VSR study method at a factor setting (dense_d8_lr1e3, msrs_sparse_d4, ...;
# not the AVSR runs avsr_<method>_d4 of claim f2-d4)
FACTOR = re.compile(r"^(?!avsr_|asr_)(?P<method>[a-z]+\d*(?:_[a-z]+\d*)*?)(?P<setting>_d\d+(?:_ctc01)?(?:_drop)?(?:_lr\d+e\d+)?)$")
# the boundary regime: every study method at depth 4 (claims a-g judged again there)
BOUNDARY = "_d4"
# settings judged as regimes of their own, each with the remedies run at that setting
# (claims a-g again, keyed ``<claim>-<tag>``; runs timed to the regime's own target):
# setting suffix -> (tag, name)
REGIMES = {BOUNDARY: ("d4", "boundary regime"),
           "_d8_lr25e4": ("d8", "marginal deep regime")}
DEEP = "_deep"
BLOCK = re.compile(r"(?:^|\.)encoder\.encoders\.(\d+)\.")
LONG = re.compile(r"_deep_e\d+$")  # the deep regime with a longer budget (<method>_deep_e<epochs>)
# rows of the regime table: the default, the factors, then the deep regime
_ORDER = ("dense", "dense_d4", "curriculum_d4", "msrs_d4", "msrs_search6_d4", "msrs_sparse_d4", "snip_d4", "gmp_d4",
          "set_d4", "rigl_d4", "cs_d4", "dense_ls_d4", "msrs_ls_d4", "dense_d8", "dense_d8_drop", "dense_d8_ctc01",
          "dense_d2_ctc01_drop",
          "dense_d8_lr25e4", "curriculum_d8_lr25e4", "msrs_d8_lr25e4", "msrs_keep_d8_lr25e4",
          "msrs_den50_d8_lr25e4", "msrs_search6_d8_lr25e4", "msrs_search9_d8_lr25e4", "msrs_sparse_d8_lr25e4",
          "msrs_sparse_search6_d8_lr25e4", "snip_d8_lr25e4",
          "gmp_d8_lr25e4", "set_d8_lr25e4", "rigl_d8_lr25e4", "cs_d8_lr25e4", "dense_ls_d8_lr25e4", "msrs_ls_d8_lr25e4",
          "msrs_ls_search6_d8_lr25e4",
          "dense_d8_lr1e3", "msrs_d8_lr1e3", "dense_d8_lr35e4", "msrs_d8_lr35e4",
          "dense_deep", "curriculum_deep", "msrs_deep", "msrs_sparse_deep", "dense_ls_deep", "msrs_ls_deep")


def regime_methods(runs: Dict[str, List[StudyRun]]) -> List[str]:
    """The methods of the regime search that ran (``dense`` first as the reference);
    empty when no factor or deep run exists."""
    found = [m for m in runs if FACTOR.match(m) or m.endswith(DEEP) or LONG.search(m)]
    if not found:
        return []
    ms = (["dense"] if "dense" in runs else []) + found
    return [m for m in _ORDER if m in ms] + sorted((m for m in ms if m not in _ORDER),
                                                   key=lambda m: (bool(LONG.search(m)), m))


def describe(runs: List[StudyRun]) -> str:
    """``8 blocks, CTC 0.1, dropout 0.1, lr 0.005`` from a method's run configs ('' if unknown)."""
    s = next((r.settings for r in runs if r.settings), {})
    parts = []
    if "blocks" in s:
        parts.append(f"{s['blocks']} blocks")
    if "ctc_weight" in s:
        parts.append(f"CTC {s['ctc_weight']:g}")
    if "dropout" in s:
        parts.append(f"dropout {s['dropout']:g}")
    if "lr" in s:
        parts.append(f"lr {s['lr']:g}")
    return ", ".join(parts)


def depth_decay(run: StudyRun) -> Optional[float]:
    """log10 of (gradient norm of the first encoder block / that of the last), early in
    training: the per-layer probe norms (effective weights, the run's early epochs)
    combined per block as the root of their sum of squares.  -3 means the gradient
    reaching the first block is 1000x smaller than at the last; None without probes
    or with fewer than 2 blocks."""
    per: Dict[int, float] = {}
    for name, norm in early_layer_norms(run).items():
        m = BLOCK.search(name)
        if m:
            per[int(m.group(1))] = per.get(int(m.group(1)), 0.0) + norm * norm
    if len(per) < 2 or per[max(per)] <= 0 or per[min(per)] <= 0:
        return None
    return 0.5 * math.log10(per[min(per)] / per[max(per)])


def deep_claims(s: Study) -> List[Claim]:
    """Claims (a), (b) and (e) in the deep regime (``dense_deep``, ``msrs_deep``) and
    (d) on its 36-epoch runs; each pair only when one of its methods ran."""
    deep = [m for m in ("dense_deep", "msrs_deep", "dense_deep_e36", "msrs_deep_e36") if m in s.runs]
    if not deep:
        return []
    regime = describe(s.runs[deep[0]])
    out = []
    if deep[0] in ("dense_deep", "msrs_deep"):
        out += _deep_12(s, regime)
    if "dense_deep_e36" in s.runs or "msrs_deep_e36" in s.runs:
        out.append(claim_time(s, "msrs_deep_e36", ("dense_deep_e36",), "d-deep",
                              f">= 2x less training time, deep regime, 36 epochs ({regime})"))
    return out


def _deep_12(s: Study, regime: str) -> List[Claim]:
    return [
        claim_fails(s, "dense_deep", "a-deep", f"dense training from scratch fails, deep regime ({regime})"),
        claim_trains(s, "msrs_deep", "dense_deep", "b-deep", f"MSRS trains from scratch, deep regime ({regime})"),
        claim_grad(s, "msrs_deep", "dense_deep", "e-deep",
                   f"healthier gradient flow early in training, deep regime ({regime})"),
    ]


def _method(m: str) -> Optional[str]:
    """The study method of a factor-setting run name (``msrs_sparse`` for ``msrs_sparse_d4``)."""
    f = FACTOR.match(m)
    return f.group("method") if f else None


def boundary_target(runs: Dict[str, List[StudyRun]], frac: float, setting: str = BOUNDARY) -> Optional[float]:
    """A regime's own target validation accuracy (``setting``, a key of REGIMES; the
    boundary regime by default): ``frac`` x the best of its dense baselines
    (``dense<setting>``, ``curriculum<setting>``), as the study's target is of
    ``dense``/``curriculum``; None when ``dense<setting>`` did not run."""
    if "dense" + setting not in runs:
        return None
    return choose_target(runs, baselines=("dense" + setting, "curriculum" + setting), frac=frac)


def modality_prefix(m: str) -> str:
    """The modality prefix of run name ``m``: ``avsr_``, ``asr_``, or "" for VSR runs."""
    return next((p for p in ("avsr_", "asr_") if m.startswith(p)), "")


def split_run(m: str, quarter: bool = False) -> Optional[Tuple[str, str]]:
    """(method, setting) of run name ``m`` at a factor setting: ``<method><setting>`` and
    the AVSR/ASR runs ``avsr_<method><setting>``, ``asr_<method><setting>``, whose method
    keeps its prefix (``avsr_msrs_search6_d8_lr25e4`` -> ``("avsr_msrs_search6",
    "_d8_lr25e4")``); with ``quarter`` also the quarter-speaker runs
    ``<method><setting>_quarter`` (method without the suffix). None for the other runs."""
    prefix = modality_prefix(m)
    core = m[len(prefix):]
    if quarter:
        core = re.sub(r"_quarter$", "", core)
    f = FACTOR.match(core)
    return (prefix + f.group("method"), f.group("setting")) if f else None


def regime_of(m: str) -> Optional[str]:
    """The regime (a key of REGIMES) that run name ``m`` belongs to: ``<method><setting>``,
    its quarter-speaker runs ``<method><setting>_quarter`` and AVSR runs
    ``avsr_<method><setting>``; None for the other runs."""
    ms = split_run(m, quarter=True)
    return ms[1] if ms and ms[1] in REGIMES else None


def regime_targets(runs: Dict[str, List[StudyRun]], frac: float) -> Dict[str, float]:
    """Per-method targets (``Study(targets=...)``): every run of a regime of REGIMES is
    timed to that regime's ``boundary_target``, so its time-to-target figures and its
    claim (d-<tag>) use one target; regimes without a dense baseline are left out."""
    out = {}
    for setting in REGIMES:
        t = boundary_target(runs, frac, setting)
        if t is not None:
            out.update({m: t for m in runs if regime_of(m) == setting})
    return out


def _hits(s: Study, m: str) -> str:
    e, _, hit, n = s.to_target(m)
    return f"{hit}/{n} seeds" + (f" (epochs {e.fmt(1)})" if hit else "")


def boundary_claims(s: Study, setting: str = BOUNDARY) -> List[Claim]:
    """Claims (a)-(g) judged in the regime ``setting`` (a key of REGIMES; by default the
    boundary regime ``<method>_d4``: 4 encoder blocks at the study's learning rate),
    each with the same rule as in the default regime and keyed ``<claim>-<tag>``; []
    when ``dense<setting>`` did not run."""
    tag, name = REGIMES[setting]
    d, m = "dense" + setting, "msrs" + setting
    if d not in s.runs:
        return []
    at = f"{name} ({describe(s.runs[d])})"
    # claim (d) at this setting: the target is the default rule's fraction of the best
    # dense baseline *of this setting* (dense<setting>, curriculum<setting>)
    bases = (d, "curriculum" + setting)
    t = boundary_target(s.runs, s.target_frac, setting)
    time = claim_time(Study(s.runs, t, s.fail_wer, s.test_set, s.target_frac), m, bases,
                      f"d-{tag}", f">= 2x less training time, {at}")
    if t is not None:
        time.why += (f" (target validation accuracy {t:.3f}: {s.target_frac:g} x the best of "
                     f"{', '.join(b for b in bases if b in s.runs)})")
    out = [claim_fails(s, d, f"a-{tag}", f"dense training from scratch fails, {at}"),
           claim_trains(s, m, d, f"b-{tag}", f"MSRS trains from scratch, {at}"),
           claim_sparse(s, m, setting, f"c-{tag}", f"the other sparse methods (SNIP, GMP, SET, RigL, CS) do not, {at}"),
           time,
           claim_grad(s, m, d, f"e-{tag}", f"healthier gradient flow early in training, {at}"),
           claim_less_data(s, setting, f"f1-{tag}", f"robust with less data (a quarter of the speakers), {at}"),
           claim_babble(s, setting, f"f2-{tag}", f"robust in babble noise (AVSR), {at}"),
           claim_layer_scale(s, setting, f"g-{tag}", f"LayerScale and MSRS complement each other, {at}")]
    return out


def regimes_claims(s: Study) -> List[Claim]:
    """``boundary_claims`` of every regime of REGIMES that ran, in REGIMES' order."""
    return [c for setting in REGIMES for c in boundary_claims(s, setting)]


def _reading(s: Study, methods: List[str]) -> str:
    by = {}
    for m in methods:
        by.setdefault(s.status(m), []).append(f"`{m}`")
    order = ("fails", "mixed", "trains")
    parts = [f"{k}: {', '.join(by[k])}" for k in order if k in by]
    parts += [f"{k}: {', '.join(v)}" for k, v in by.items() if k not in order]
    return "; ".join(parts)


def regime_section(runs: Dict[str, List[StudyRun]], s: Study, plots_dir: Path,
                   out_dir: Path) -> List[str]:
    """Markdown lines of the regime-search section (and its plot); [] without runs."""
    methods = regime_methods(runs)
    if not methods:
        return []
    L = [
        "## Regime search: what makes dense training stall",
        "",
        "The default model trains densely, so the paper's phenomenon is looked for by changing "
        "one factor at a time towards the deep regime (8 encoder blocks, CTC weight 0.1, dropout "
        "0.1, as in the paper's configs): `dense_d*` are dense runs with a subset of those "
        "factors, `*_deep` runs have all three (docs/study_regime.md). Status uses the failure "
        "threshold above; best validation accuracy is the best epoch of each seed. The last "
        "column is how much smaller the task-loss gradient reaching the first encoder block is "
        "than at the last one, early in training (probe on the effective weights, log10: -3 = "
        "1000x smaller; the vanishing gradient MSRS is meant to cure).",
        "",
        "| method | model | seeds | seeds failing | status | best valid acc | test WER (%) | test pooled [95 % CI] "
        "| gradient first/last encoder block (log10) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        acc = summarize([best_acc(r.curve) for r in runs[m]])
        w = [x for x in s.wers(m) if x is not None]
        failing = f"{sum(x >= s.fail_wer for x in w)}/{len(w)}"
        L.append(f"| {m} | {describe(runs[m])} | {len(runs[m])} | {failing} | {s.status(m)} | {acc.fmt(3)} | "
                 f"{s.wer(m).fmt(1)} | {fmt_ci(s.ci(m))} | {summarize([depth_decay(r) for r in runs[m]]).fmt(2)} |")
    factors = [m for m in methods if m in ("dense", "dense_deep") or _method(m) == "dense"]
    L += ["", "Dense training by factor (12 epochs) -- " + _reading(s, factors) + ".", ""]
    fixes = [m for m in methods if m.endswith(DEEP) and m != "dense_deep"]
    if fixes and "dense_deep" in runs:
        L += [f"Against dense training in the deep regime (`dense_deep` {s.status('dense_deep')}): "
              + "; ".join(f"`{m}` {s.status(m)}, WER vs dense_deep {s.compare_wer(m, 'dense_deep')}"
                          for m in fixes)
              + ". (`curriculum_deep` is Auto-AVSR's fix, `*_ls_deep` LayerScale.)", ""]
    groups: Dict[str, List[str]] = {}
    for m in methods:
        if FACTOR.match(m):
            groups.setdefault(FACTOR.match(m).group("setting"), []).append(m)
    for setting, ms in groups.items():
        dn = "dense" + setting
        if dn not in runs or len(ms) < 2:
            continue
        L += [f"Against dense at the same setting ({describe(runs[dn])}; `{dn}` {s.status(dn)}, reaches the "
              f"target in {_hits(s, dn)}): "
              + "; ".join(f"`{m}` {s.status(m)}, WER {s.compare_wer(m, dn)}, target in {_hits(s, m)}"
                          for m in ms if m != dn) + ".", ""]
    own = [ms for ms in groups.values() if len(ms) > 2]  # settings with their own plot
    p = study_plots.accuracy_curves({m: runs[m] for m in methods if not any(m in ms[1:] for ms in own)}, None,
                                    plots_dir / "regime_valid_acc.png")
    if p is not None:
        L += ["![Validation accuracy per epoch, regime search](" + os.path.relpath(p, out_dir) + ")", ""]
    for ms in own:
        setting = FACTOR.match(ms[0]).group("setting")
        p = study_plots.accuracy_curves({m: runs[m] for m in ms}, s.target_of(ms[0]),
                                        plots_dir / f"regime{setting}_valid_acc.png")
        if p is not None:
            L += [f"Validation accuracy per epoch at {describe(runs[ms[0]])} (every method at this setting; "
                  "mean and min-max band over seeds):", "",
                  f"![Validation accuracy, setting {setting[1:]}](" + os.path.relpath(p, out_dir) + ")", ""]
        p = study_plots.density_layers({m: runs[m] for m in ms}, plots_dir / f"regime{setting}_density.png")
        if p is not None:
            L += [f"Mask density per layer at {describe(runs[ms[0]])}:", "",
                  f"![Density, setting {setting[1:]}](" + os.path.relpath(p, out_dir) + ")", ""]
    p = study_plots.grad_flow_layers(runs, plots_dir / "grad_flow_deep.png", methods=("dense_deep", "msrs_deep"))
    if p is not None:
        L += ["Gradient flow early in training in the deep regime, dense vs MSRS (claim e-deep):", "",
              "![Gradient flow, deep regime](" + os.path.relpath(p, out_dir) + ")", ""]
    return L

