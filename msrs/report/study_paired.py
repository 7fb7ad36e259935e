"""Seed-paired comparisons of MSRS with dense training (post hoc, not used for verdicts).

In the study one ``--seed`` fixes a run's initial weights and its batch order for
every method: ESPnet seeds torch before it builds the model, the sparsity method is
attached last (``SparsityTaskMixin.attach_sparsity``; test/sparse/test_task.py checks
that dense and MSRS start from the same weights) and ESPnet's sampler shuffles with
``--seed`` plus the epoch.  So seed ``k`` of MSRS and seed ``k`` of dense differ only
by the method, and a difference of the same sign in most seeds is evidence that a
pooled comparison (``study_claims.compare``: difference of means against the larger
standard deviation) cannot show when seeds differ much from each other.

The verdicts keep the pooled rule: this section is read after them, per claim pair
(claim b: ``msrs<setting>`` vs ``dense<setting>``; f1: their quarter-speaker runs; f2:
``avsr_msrs<setting>`` vs ``avsr_dense<setting>``, clean and in babble), with a
two-sided sign test over the seeds both ran (ties left out).
"""

from typing import Dict, List, Optional, Sequence, Tuple

from scipy.stats import binomtest

from msrs.report.study import StudyRun, babble_snr, summarize
from msrs.report.study_claims import Study, hardest_shared_babble
from msrs.report.study_regime import DEEP, REGIMES, describe

# the settings whose MSRS/dense pairs are read: the default regime, REGIMES, the deep regime
SETTINGS = ("",) + tuple(REGIMES) + (DEEP,)


def paired_wers(s: Study, a: str, b: str, test_set: Optional[str] = None) -> List[Tuple[int, float, float]]:
    """(seed, WER of ``a``, WER of ``b``) in %, for every seed both methods were scored
    on ``test_set`` (the study's primary test set by default), by seed."""
    ts = test_set or s.test_set

    def by_seed(m: str) -> Dict[int, float]:
        return {r.seed: r.tests[ts].wer for r in s.runs.get(m, []) if ts in r.tests}

    wa, wb = by_seed(a), by_seed(b)
    return [(k, wa[k], wb[k]) for k in sorted(set(wa) & set(wb))]


def sign_test(pairs: Sequence[Tuple[int, float, float]]) -> Tuple[int, int, int, Optional[float]]:
    """(seeds where the first method's WER is lower, higher, tied; two-sided sign-test p
    over the untied seeds, None when every seed ties or there is none)."""
    lower = sum(a < b for _, a, b in pairs)
    higher = sum(a > b for _, a, b in pairs)
    ties = len(pairs) - lower - higher
    n = lower + higher
    return lower, higher, ties, (float(binomtest(lower, n, 0.5).pvalue) if n else None)


def pairs_to_read(runs: Dict[str, List[StudyRun]]) -> List[Tuple[str, str, str]]:
    """(what, MSRS method, dense method) of the claim pairs that both ran."""
    out = []
    for st in SETTINGS:
        for what, a, b in (("VSR", f"msrs{st}", f"dense{st}"),
                           ("VSR, a quarter of the speakers", f"msrs{st}_quarter", f"dense{st}_quarter"),
                           ("AVSR", f"avsr_msrs{st}", f"avsr_dense{st}")):
            if a in runs and b in runs:
                out.append((what, a, b))
    return out


def paired_section(runs: Dict[str, List[StudyRun]], s: Study) -> List[str]:
    """Markdown lines: per claim pair and test condition, the seeds paired, in how many
    MSRS's WER is lower / higher / tied, the mean ± sd of the per-seed difference
    (MSRS - dense, WER points) and the sign test's p; [] when no pair ran."""
    rows = []
    for what, a, b in pairs_to_read(runs):
        conds = [(s.test_set, s.test_set + " clean" * (what == "AVSR"))]
        babble = hardest_shared_babble(s, a, b)  # as claim f2
        if babble:
            conds.append((babble, f"{s.test_set}, babble {babble_snr(babble)} dB"))
        setting = describe(runs[a])
        where = what + (f", {setting}" if setting else "")
        for ts, label in conds:
            pairs = paired_wers(s, a, b, ts)
            if not pairs:
                continue
            lower, higher, ties, p = sign_test(pairs)
            diff = summarize([x - y for _, x, y in pairs])
            rows.append(f"| `{a}` vs `{b}` ({where}) | {label} | {len(pairs)} | {lower} / {higher} / {ties} | "
                        f"{diff.fmt(1)} | " + ("n/a" if p is None else f"{p:.2f}") + " |")
    if not rows:
        return []
    return [
        "## Seed-paired comparisons of MSRS with dense (post hoc)",
        "",
        "Not used for the verdicts, which follow the rules above. One seed gives MSRS and dense "
        "the same initial weights and the same batch order (the sparsity method is attached "
        "after ESPnet builds the seeded model), so seed k of one differs from seed k of the other "
        "only by the method. Per pair: the seeds both ran, in how many MSRS's test WER is lower / "
        "higher / equal, the mean ± sd over seeds of the difference (MSRS - dense, WER points), "
        "and the two-sided sign test over the unequal seeds. With n seeds the smallest possible p "
        "is 2^(1-n): 3 seeds can never show p < 0.05 (p >= 0.25), 5 seeds p >= 0.06. The table has "
        "many rows: about one in twenty shows p < 0.05 by chance alone.",
        "",
        "| pair | test set | seeds paired | MSRS lower / higher / equal | WER difference (MSRS - dense) | sign test p |",
        "|---|---|---|---|---|---|",
    ] + rows + [""]
