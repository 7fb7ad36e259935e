"""Comparison rules and the verdict per claim of the MSRS paper.

Every verdict is computed from the study's numbers with the rules below (the
same text is written into docs/results.md by :data:`RULES`); nothing is
hard-coded.  Verdicts: ``reproduced``, ``not reproduced``, ``inconclusive``.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from msrs.report.study import (
    StudyRun,
    Summary,
    babble_snr,
    early_grad_norm,
    pooled_wer_ci,
    summarize,
    to_target,
)

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = (
    "reproduced",
    "not reproduced",
    "inconclusive",
)
SPARSE_BASELINES = ("snip", "gmp", "set", "rigl", "cs")

RULES = """\
* **Spread.** Every figure is a mean over seeds ± its sample standard deviation.
  Two methods differ on a figure only when both have >= 2 seeds and the
  difference of their means exceeds the larger of their two standard deviations;
  for test WER, in addition, their 95 % bootstrap intervals (over test utterances,
  seeds pooled) must not overlap.  Otherwise the result is **no difference**;
  with fewer than 2 seeds on a side it is **inconclusive**.
* **Seeds.** A verdict needs >= 2 seeds of every method it uses (one seed has
  no spread); otherwise it is inconclusive.
* **Failure.** A run *fails* when its test WER is >= the failure threshold
  (below); a method *fails* when every seed fails and *trains* when none does
  (mixed seeds: inconclusive).
* (a) dense from scratch fails: reproduced if `dense` fails; not reproduced if it
  trains; inconclusive otherwise or when it did not run.
* (b) MSRS trains from scratch: reproduced if `msrs` trains; not reproduced if it
  fails; inconclusive otherwise.
* (c) the other sparse methods do not: each baseline (SNIP, GMP, SET, RigL, CS) that
  ran *matches* MSRS when it trains and its test WER is no worse than MSRS's
  (no difference or better), and *does not* when it fails or MSRS is better.
  Reproduced if every baseline that ran does not; not reproduced if any matches;
  inconclusive otherwise or when none ran.
* (d) >= 2x less training time: wall-clock to the target validation accuracy
  (train + validation seconds summed up to the first epoch at the target). The
  reference is the faster of `dense` and `curriculum` among those whose every seed
  reaches the target.  With r = mean(reference) / mean(MSRS) and the conservative
  r- = (mean - sd)(reference) / (mean + sd)(MSRS): reproduced if r- >= 2;
  not reproduced if r < 2 or some MSRS seed never reaches the target;
  inconclusive otherwise (r >= 2 within the spread, < 2 seeds, or no reference
  reaches the target while MSRS does: unbounded but unmeasured).
* (e) healthier gradient flow early in training: the L2 norm of the task-loss
  gradient on the effective weights (grad_flow.jsonl `global_norm`, fixed probe
  batch), averaged over the probes of the MSRS search epochs; reproduced if MSRS's
  is higher than dense's beyond the spread; not reproduced if no difference or
  lower; inconclusive with < 2 seeds or without probes.  The probe's EGF (Tessera
  et al.) is shown beside it but not used: it divides each layer's norm by its
  active connections, which favours a sparse mask by construction.
* (f) robust with less data: `msrs_quarter` vs `dense_quarter` (a quarter of the
  training speakers); reproduced if MSRS trains there and either dense fails or
  MSRS's test WER is lower beyond the spread; not reproduced if MSRS fails or the
  WERs show no difference or dense is better; inconclusive otherwise or not run.
  Babble noise: `avsr_msrs` vs `avsr_dense` (AVSR models with babble augmentation)
  on the test set mixed with babble at the lowest SNR both were decoded at;
  reproduced if MSRS trains there and its WER is lower beyond the spread; not
  reproduced if it fails or no difference or higher; inconclusive otherwise or
  without AVSR runs.
* (g) LayerScale and MSRS complement each other: `msrs_ls` (MSRS with LayerScale)
  against `msrs` (MSRS alone) and `dense_ls` (LayerScale alone); reproduced if
  `msrs_ls` trains and its test WER is lower than both beyond the spread; not
  reproduced if it fails or either comparison is no difference or higher;
  inconclusive otherwise or when a run is missing.  `dense_ls` vs `dense` (what
  LayerScale alone does) is shown beside it.
* **Other regimes.** The boundary regime's claims (a-d4) ... (g-d4), the marginal
  deep regime's (a-d8) ... (g-d8) (8 blocks at lr 0.0025, `*_d8_lr25e4`) and the deep
  regime's (a-deep) ... apply the same rules to the runs of that setting
  (`dense_d4` for `dense`, `msrs_d4_quarter` for `msrs_quarter`, `avsr_msrs_d4` for
  `avsr_msrs`, ...).  Claims (d-d4) and (d-d8) take their target from the dense baselines of
  that setting (`dense_d4` and `curriculum_d4`; `dense_d8_lr25e4` and
  `curriculum_d8_lr25e4`), and every run of such a regime is timed to it; the
  study's target comes from
  `dense`/`curriculum`, or from `dense_d4`/`curriculum_d4` when the default
  regime did not run.
* **test2.** A method's two test sets agree when their 95 % bootstrap intervals overlap.
"""


@dataclass
class Claim:
    key: str
    text: str
    verdict: str
    why: str


def compare(a: Summary, b: Summary, ci_a=None, ci_b=None) -> str:
    """``"lower"`` / ``"higher"`` (a relative to b), ``"no difference"`` or
    ``"inconclusive"``, with the spread rule of :data:`RULES`."""
    if a.n < 2 or b.n < 2 or a.mean is None or b.mean is None:
        return "inconclusive"
    diff = a.mean - b.mean
    if abs(diff) <= max(a.sd or 0.0, b.sd or 0.0):
        return "no difference"
    if (
        ci_a is not None
        and ci_b is not None
        and ci_a[1] <= ci_b[2]
        and ci_b[1] <= ci_a[2]
    ):
        return "no difference"
    return "lower" if diff < 0 else "higher"


def cis_overlap(ci_a, ci_b) -> Optional[bool]:
    if ci_a is None or ci_b is None:
        return None
    return ci_a[1] <= ci_b[2] and ci_b[1] <= ci_a[2]


MIN_SEEDS = 2


def status(wers: Sequence[Optional[float]], fail_wer: float) -> str:
    """``fails`` (every seed), ``trains`` (no seed), ``mixed``, ``missing``, or
    ``1 seed`` (fewer than ``MIN_SEEDS`` scored seeds)."""
    w = [x for x in wers if x is not None]
    if not w:
        return "missing"
    if len(w) < MIN_SEEDS:
        return f"{len(w)} seed"
    failed = [x >= fail_wer for x in w]
    return "fails" if all(failed) else "trains" if not any(failed) else "mixed"


class Study:
    """Aggregates of ``load_study``'s runs on the primary test set."""

    def __init__(
        self,
        runs: Dict[str, List[StudyRun]],
        target: Optional[float],
        fail_wer: float,
        test_set: str = "test",
        target_frac: float = 0.95,
        targets: Optional[Dict[str, float]] = None,
    ):
        self.runs, self.target, self.fail_wer, self.test_set = (
            runs,
            target,
            fail_wer,
            test_set,
        )
        # the fraction of the best dense baseline that made ``target`` (a regime's own target)
        self.target_frac = target_frac
        # per-method targets that replace ``target`` (the methods of a regime with its own
        # dense baselines, e.g. the boundary regime's ``*_d4``: ``regime_targets``)
        self.targets = dict(targets or {})

    def target_of(self, method: str) -> Optional[float]:
        """The target validation accuracy ``method`` is timed to."""
        return self.targets.get(method, self.target)

    def wers(
        self, method: str, test_set: Optional[str] = None
    ) -> List[Optional[float]]:
        ts = test_set or self.test_set
        return [
            r.tests[ts].wer if ts in r.tests else None
            for r in self.runs.get(method, [])
        ]

    def wer(self, method: str, test_set: Optional[str] = None) -> Summary:
        return summarize(self.wers(method, test_set))

    def ci(self, method: str, test_set: Optional[str] = None):
        ts = test_set or self.test_set
        return pooled_wer_ci(
            [r.tests[ts] for r in self.runs.get(method, []) if ts in r.tests]
        )

    def status(self, method: str) -> str:
        return status(self.wers(method), self.fail_wer)

    def compare_wer(self, a: str, b: str, test_set: Optional[str] = None) -> str:
        return compare(self.wer(a, test_set), self.wer(b, test_set), self.ci(a, test_set), self.ci(b, test_set))

    def to_target(self, method: str) -> Tuple[Summary, Summary, int, int]:
        """(epochs, seconds) over the seeds that reach the target, seeds reaching, seeds."""
        runs = self.runs.get(method, [])
        target = self.target_of(method)
        hits = [to_target(r.curve, target) for r in runs] if target is not None else []
        hits = [h for h in hits if h is not None]
        return (
            summarize([h[0] for h in hits]),
            summarize([h[1] for h in hits]),
            len(hits),
            len(runs),
        )

    def grad(self, method: str) -> Summary:
        return summarize([early_grad_norm(r) for r in self.runs.get(method, [])])


def _w(s: Study, m: str) -> str:
    return f"`{m}` {s.wer(m).fmt(1, ' %')}: {s.status(m)}"


def claim_fails(s: Study, dense: str = "dense", key: str = "a",
                text: str = "dense training from scratch fails") -> Claim:
    """Claim (a) for the dense method ``dense``."""
    v = {"fails": REPRODUCED, "trains": NOT_REPRODUCED}.get(s.status(dense), INCONCLUSIVE)
    return Claim(key, text, v, f"{_w(s, dense)}; failure: WER >= {s.fail_wer:.1f} %")


def claim_trains(s: Study, msrs: str = "msrs", dense: str = "dense", key: str = "b",
                 text: str = "MSRS trains from scratch") -> Claim:
    """Claim (b) for the MSRS method ``msrs`` (its WER against ``dense`` shown)."""
    v = {"trains": REPRODUCED, "fails": NOT_REPRODUCED}.get(s.status(msrs), INCONCLUSIVE)
    why = _w(s, msrs) + (
        f"; vs {dense}: {s.compare_wer(msrs, dense)} WER" if dense in s.runs else ""
    )
    return Claim(key, text, v, why)


def claim_grad(s: Study, msrs: str = "msrs", dense: str = "dense", key: str = "e",
               text: str = "healthier gradient flow early in training") -> Claim:
    """Claim (e): early gradient norm of ``msrs`` against ``dense``."""
    g_m, g_d = s.grad(msrs), s.grad(dense)
    c = compare(g_m, g_d)
    v = {
        "higher": REPRODUCED,
        "lower": NOT_REPRODUCED,
        "no difference": NOT_REPRODUCED,
    }.get(c, INCONCLUSIVE)
    egf = {
        m: summarize([early_grad_norm(r, "egf") for r in s.runs.get(m, [])])
        for m in (msrs, dense)
    }
    return Claim(
        key,
        text,
        v,
        f"early gradient norm: MSRS {g_m.fmt(3)}, dense {g_d.fmt(3)} ({c}); "
        f"EGF (shown, not used): MSRS {egf[msrs].fmt(6)}, dense {egf[dense].fmt(6)}",
    )


def claim_sparse(s: Study, msrs: str = "msrs", suffix: str = "", key: str = "c",
                 text: str = "the other sparse methods (SNIP, GMP, SET, RigL, CS) do not") -> Claim:
    """Claim (c): each sparse baseline ``<b><suffix>`` (SPARSE_BASELINES) against ``msrs``.
    Reproduced when every baseline that ran fails or has a higher WER than MSRS; not
    reproduced when one trains with a lower or equal WER."""
    parts, matches, nots = [], [], []
    for b in (b + suffix for b in SPARSE_BASELINES):
        if b not in s.runs:
            continue
        st, c = s.status(b), (
            s.compare_wer(b, msrs) if msrs in s.runs else "inconclusive"
        )
        if st == "fails" or c == "higher":
            nots.append(b)
        elif st == "trains" and c in ("lower", "no difference"):
            matches.append(b)
        parts.append(f"`{b}` {s.wer(b).fmt(1, ' %')} ({st}; WER vs MSRS: {c})")
    ran = len(parts)
    if msrs not in s.runs or not ran:
        v = INCONCLUSIVE
    else:
        v = (
            NOT_REPRODUCED
            if matches
            else REPRODUCED if len(nots) == ran else INCONCLUSIVE
        )
    return Claim(key, text, v, "; ".join(parts) or "no baseline ran")


def claims(s: Study) -> List[Claim]:
    return [claim_fails(s), claim_trains(s), claim_sparse(s), claim_time(s), claim_grad(s),
            claim_less_data(s), claim_babble(s), claim_layer_scale(s)]


def claim_less_data(s: Study, suffix: str = "", key: str = "f1",
                    text: str = "robust with less data (a quarter of the speakers)") -> Claim:
    """Claim (f1): ``msrs<suffix>_quarter`` against ``dense<suffix>_quarter``."""
    mq, dq = f"msrs{suffix}_quarter", f"dense{suffix}_quarter"
    if mq not in s.runs or dq not in s.runs:
        ran = [m for m in (mq, dq) if m in s.runs]
        return Claim(key, text, INCONCLUSIVE,
                     f"needs runs {mq} and {dq}; ran: " + (", ".join(ran) or "neither"))
    st_m, st_d, c = s.status(mq), s.status(dq), s.compare_wer(mq, dq)
    if st_m == "fails" or (st_m == "trains" and c in ("no difference", "higher")):
        v = NOT_REPRODUCED
    elif st_m == "trains" and (st_d == "fails" or c == "lower"):
        v = REPRODUCED
    else:
        v = INCONCLUSIVE
    return Claim(key, text, v, f"{_w(s, mq)}, {_w(s, dq)}; MSRS WER {c}")


def noisy_conditions(s: Study, method: str) -> List[str]:
    """The babble conditions (``<test set>@snr<dB>``) of ``method``'s runs on the
    primary test set, lowest SNR first."""
    keys = {t for r in s.runs.get(method, []) for t in r.tests if t.startswith(s.test_set + "@snr")}
    return sorted(keys, key=lambda t: float(babble_snr(t)))


def hardest_shared_babble(s: Study, a: str, b: str) -> Optional[str]:
    """The lowest-SNR babble condition (``<test set>@snr<dB>``) that both ``a``'s and
    ``b``'s runs were decoded at; None when they share none."""
    b_conds = set(noisy_conditions(s, b))
    return next((c for c in noisy_conditions(s, a) if c in b_conds), None)


def _beats_both(st: str, comparisons: Sequence[str]) -> str:
    """Verdict of "``st``'s method trains and has a lower WER than each
    compared method": not reproduced if it fails or any comparison is no
    difference or higher; reproduced if it trains and every one is lower."""
    if st == "fails" or (st == "trains" and set(comparisons) & {"no difference", "higher"}):
        return NOT_REPRODUCED
    if st == "trains" and all(c == "lower" for c in comparisons):
        return REPRODUCED
    return INCONCLUSIVE


def claim_babble(s: Study, suffix: str = "", key: str = "f2",
                 text: str = "robust in babble noise (AVSR)") -> Claim:
    """Claim (f2): ``avsr_msrs<suffix>`` against ``avsr_dense<suffix>`` at the lowest
    babble SNR both were decoded at."""
    am, ad = f"avsr_msrs{suffix}", f"avsr_dense{suffix}"
    missing = [m for m in (am, ad) if m not in s.runs]
    if missing:
        return Claim(key, text, INCONCLUSIVE, "needs AVSR runs " + ", ".join(missing))
    t = hardest_shared_babble(s, am, ad)
    if t is None:
        return Claim(key, text, INCONCLUSIVE, "the AVSR runs were not decoded in babble (--test_snrs)")
    st = status(s.wers(am, t), s.fail_wer)
    c = s.compare_wer(am, ad, t)
    v = _beats_both(st, [c])
    why = (
        f"babble {babble_snr(t)} dB: `{am}` {s.wer(am, t).fmt(1, ' %')} ({st}), "
        f"`{ad}` {s.wer(ad, t).fmt(1, ' %')}: MSRS WER {c}; clean: "
        f"`{am}` {s.wer(am).fmt(1, ' %')}, `{ad}` {s.wer(ad).fmt(1, ' %')}"
    )
    return Claim(key, text, v, why)


def claim_layer_scale(s: Study, suffix: str = "", key: str = "g",
                      text: str = "LayerScale and MSRS complement each other") -> Claim:
    """Claim (g) on ``msrs_ls<suffix>`` against ``msrs<suffix>`` and ``dense_ls<suffix>``."""
    mls, m, dls, d = (f"{x}{suffix}" for x in ("msrs_ls", "msrs", "dense_ls", "dense"))
    missing = [x for x in (mls, m, dls) if x not in s.runs]
    if missing:
        return Claim(key, text, INCONCLUSIVE, "needs runs " + ", ".join(missing))
    st = s.status(mls)
    c_m, c_d = s.compare_wer(mls, m), s.compare_wer(mls, dls)
    v = _beats_both(st, [c_m, c_d])
    why = (
        f"{_w(s, mls)}; WER vs `{m}` {s.wer(m).fmt(1, ' %')}: {c_m}; "
        f"vs `{dls}` {s.wer(dls).fmt(1, ' %')}: {c_d}"
    )
    if d in s.runs:
        why += f"; LayerScale alone (`{dls}` vs `{d}`): {s.compare_wer(dls, d)} WER"
    return Claim(key, text, v, why)


def claim_time(s: Study, msrs: str = "msrs", baselines: Sequence[str] = ("dense", "curriculum"),
               key: str = "d", text: str = ">= 2x less training time (wall-clock to the target validation accuracy)") -> Claim:
    """Claim (d) for the MSRS method ``msrs`` against the dense ``baselines``."""
    if s.target_of(msrs) is None or msrs not in s.runs:
        return Claim(
            key, text, INCONCLUSIVE, f"no target (no dense baseline) or no `{msrs}` run"
        )
    _, t_m, hit_m, n_m = s.to_target(msrs)
    refs = []
    for m in baselines:
        if m in s.runs:
            _, t, hit, n = s.to_target(m)
            if hit == n >= MIN_SEEDS and t.mean is not None:
                refs.append((t.mean, m, t))
    if n_m < MIN_SEEDS:
        return Claim(key, text, INCONCLUSIVE, f"{n_m} MSRS seed(s): no spread")
    if hit_m < n_m:
        return Claim(
            key,
            text,
            NOT_REPRODUCED,
            f"`{msrs}` reached the target in {hit_m} of {n_m} seeds",
        )
    if not refs:
        return Claim(
            key,
            text,
            INCONCLUSIVE,
            f"MSRS reaches the target ({t_m.fmt(0, ' s')}); no dense baseline with >= 2 seeds does in every seed",
        )
    _, ref, t_r = min(refs)
    r = t_r.mean / t_m.mean if t_m.mean else float("inf")
    why = f"MSRS {t_m.fmt(0, ' s')}, {ref} {t_r.fmt(0, ' s')}: ratio {r:.2f}"
    if r < 2:
        return Claim(key, text, NOT_REPRODUCED, why)
    if t_r.sd is None or t_m.sd is None:
        return Claim(key, text, INCONCLUSIVE, why + " (< 2 seeds: no spread)")
    r_lo = (t_r.mean - t_r.sd) / (t_m.mean + t_m.sd)
    return Claim(
        key,
        text,
        REPRODUCED if r_lo >= 2 else INCONCLUSIVE,
        why + f", conservative {r_lo:.2f}",
    )
