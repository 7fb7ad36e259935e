"""Read and aggregate the runs of ``egs/mini_lrs3/run_study.sh``.

Run directories (anywhere under ``exp_dir``) are named
``<modality>_study_<method>_s<seed>``; VSR runs are keyed ``<method>``, the
others ``<modality>_<method>`` (``avsr_msrs``).  The curriculum's first stage is
``..._s<seed>_short`` and is joined to its second stage (epochs and seconds of
both stages counted, stage 1 first).  Per run this reads:

* the validation curve: per epoch validation token accuracy and seconds
  (train + valid, ESPnet's reporter; ``training_logs.load_epoch_stats``);
* per test set (decode directories ``decode_*_<set>_clean``, key ``<set>``; in
  babble ``decode_*_<set>_snr<dB>``, key ``<set>@snr<dB>``): the WER of
  ``score/scores.json`` and the word errors per utterance
  (``score/utt_errors.tsv`` or ``result.wrd.txt``) for the bootstrap;
* the mask density per layer of the last ``sparsity.jsonl`` record with a mask in
  force (for a dense continuation: the last search epoch, i.e. the frozen mask);
* ``grad_flow.jsonl`` (gradient norm per layer over steps).

Aggregates over seeds are pure functions of plain numbers (tested in
``test/report/test_study_report.py``); the verdicts are in ``study_claims``.
"""

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from msrs.report.training_logs import load_epoch_stats, load_grad_flow, load_sparsity
from msrs.scoring.bootstrap import bootstrap_wer_ci, read_utt_errors

logger = logging.getLogger(__name__)

RUN_NAME = re.compile(
    r"^(?P<modality>vsr|asr|avsr)_study_(?P<method>.+?)_s(?P<seed>\d+)(?P<short>_short)?$"
)
DECODE_DIR = re.compile(r"^decode_.*_(?P<set>[^_]+)_(?P<cond>clean|snr-?\d+(?:\.\d+)?)$")


def babble_snr(key: str) -> Optional[str]:
    """The SNR (dB, as written) of a test key ``<set>@snr<dB>``; None for a clean set."""
    return key.split("@snr", 1)[1] if "@snr" in key else None


@dataclass
class Epoch:
    epoch: int  # 1-based, over both stages for the curriculum
    acc: Optional[float]  # validation token accuracy (0-1)
    seconds: float  # train + valid time of this epoch


@dataclass
class SetScore:
    wer: float  # percent
    utt_ids: List[str] = field(default_factory=list)
    errors: List[int] = field(default_factory=list)
    ref_words: List[int] = field(default_factory=list)


@dataclass
class StudyRun:
    method: str
    seed: int
    path: Path
    modality: str = "vsr"
    curve: List[Epoch] = field(default_factory=list)
    stage1_epochs: int = 0  # curriculum: epochs of the short-utterance stage
    tests: Dict[str, SetScore] = field(default_factory=dict)
    density: Dict[str, float] = field(default_factory=dict)  # layer -> density
    global_density: Optional[float] = None
    grad_flow: List[dict] = field(default_factory=list)
    early_epochs: int = 3  # the search phase of an MSRS config (grad-flow window)
    settings: Dict[str, float] = field(default_factory=dict)  # model_settings() of its config


# --------------------------------------------------------------------------- #
# reading


_UNIT = {"hour": 3600.0, "minute": 60.0, "second": 1.0}


def log_seconds(train_log: Path) -> Dict[int, float]:
    """Train + valid seconds per epoch from ``train.log``'s ``time=`` fields
    (``time=9.81 seconds``, ``time=1 minute and 2.5 seconds``)."""
    out: Dict[int, float] = {}
    if not train_log.is_file():
        return out
    for line in train_log.read_text(errors="replace").splitlines():
        m = re.search(r"(\d+)epoch results: (.*)$", line)
        if m:
            total = 0.0
            for t in re.findall(r"(?:\] |, )time=([^,]+)", m.group(2)):
                total += sum(
                    float(v) * _UNIT[u]
                    for v, u in re.findall(r"([\d.]+) (hour|minute|second)", t)
                )
            out[int(m.group(1))] = total
    return out


def read_curve(path: Path, offset: int = 0) -> List[Epoch]:
    """Validation accuracy and seconds per epoch (epoch numbers shifted by ``offset``)."""
    stats, _, _ = load_epoch_stats(path)
    from_log = None
    out = []
    for e, ph in sorted(stats.items()):
        secs = sum(ph.get(p, {}).get("time", 0.0) for p in ("train", "valid"))
        if not secs:  # train.log's reader drops durations; the checkpoint was gone
            from_log = log_seconds(path / "train.log") if from_log is None else from_log
            secs = from_log.get(e, 0.0)
        out.append(Epoch(e + offset, ph.get("valid", {}).get("acc"), secs))
    return out


def _utt_errors(score_dir: Path) -> Tuple[List[str], List[int], List[int]]:
    """Word errors and reference words per utterance (``utt_errors.tsv``, or the
    alignments of ``result.wrd.txt`` for an older score directory)."""
    try:
        u = read_utt_errors(score_dir)
    except (FileNotFoundError, ValueError) as e:
        logger.warning("%s: no per-utterance errors (%s)", score_dir, e)
        return [], [], []
    return list(u.utt_ids), [int(x) for x in u.errors], [int(x) for x in u.ref_words]


def read_tests(path: Path) -> Dict[str, SetScore]:
    import json

    out = {}
    for d in sorted(path.glob("decode_*")):
        m = DECODE_DIR.match(d.name)
        sj = d / "score" / "scores.json"
        if not m or not sj.is_file():
            continue
        try:
            wer = float(json.loads(sj.read_text())["wer"])
        except (ValueError, KeyError, TypeError) as e:
            logger.warning("%s: unreadable (%s)", sj, e)
            continue
        ids, err, ref = _utt_errors(d / "score")
        key = m.group("set") if m.group("cond") == "clean" else f"{m.group('set')}@{m.group('cond')}"
        out[key] = SetScore(wer, ids, err, ref)
    return out


def _search_end(config: dict) -> Optional[int]:
    conf = config.get("sparsity_conf") or {}
    for ph in conf.get("phases") or []:
        if isinstance(ph, dict) and ph.get("name") == "search" and ph.get("end"):
            return int(ph["end"])
    return None


def model_settings(config: dict) -> Dict[str, float]:
    """The regime factors of a training config: encoder ``blocks``, ``ctc_weight``,
    encoder ``dropout`` (rate), peak learning rate ``lr``; absent keys are left out."""
    enc, model = config.get("encoder_conf") or {}, config.get("model_conf") or {}
    out = {"blocks": enc.get("num_blocks"), "ctc_weight": model.get("ctc_weight"),
           "dropout": enc.get("dropout_rate"), "lr": (config.get("optim_conf") or {}).get("lr")}
    return {k: v for k, v in out.items() if v is not None}


def load_study(exp_dir) -> Dict[str, List[StudyRun]]:
    """Every study run under ``exp_dir``: ``{method: [runs sorted by seed]}``."""
    import yaml

    exp_dir = Path(exp_dir)
    found: Dict[Tuple[str, int], Dict[str, Path]] = {}
    for cfg in sorted(exp_dir.rglob("config.yaml")):
        m = RUN_NAME.match(cfg.parent.name)
        if m:
            # VSR runs are keyed by method, the others by <modality>_<method> (avsr_msrs)
            method = m.group("method") if m.group("modality") == "vsr" else f"{m.group('modality')}_{m.group('method')}"
            key = (method, int(m.group("seed")))
            found.setdefault(key, {})[
                "short" if m.group("short") else "main"
            ] = cfg.parent
    runs: Dict[str, List[StudyRun]] = {}
    for (method, seed), dirs in sorted(found.items()):
        if "main" not in dirs:
            logger.info(
                "%s seed %d: only its first stage exists; skipped", method, seed
            )
            continue
        path = dirs["main"]
        if not (path / ".done.study").is_file() and not (path / "valid.acc.ave.pth").is_file():
            # still training (or stopped): its partial curve would distort the tables
            logger.warning("%s seed %d: unfinished (%s has no .done.study); left out", method, seed, path)
            continue
        run = StudyRun(method, seed, path, RUN_NAME.match(path.name).group("modality"))
        if "short" in dirs:
            run.curve = read_curve(dirs["short"])
            run.stage1_epochs = len(run.curve)
        run.curve += read_curve(path, offset=run.stage1_epochs)
        run.tests = read_tests(path)
        sp = load_sparsity(path)
        if sp:
            # the mask in force last: for a dense continuation, the mask at its freeze
            rec = next((r for r in reversed(sp) if r.get("phase") != "dense"), sp[-1])
            run.density = {k: float(v) for k, v in (rec.get("layers") or {}).items()}
            run.global_density = rec.get("global_density")
        run.grad_flow = load_grad_flow(path)
        try:
            config = yaml.safe_load((path / "config.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            logger.warning(
                "%s: unreadable (%s); its early-training window is taken as epochs 1-3",
                path / "config.yaml", e.__class__.__name__,
            )
            config = {}
        run.early_epochs = _search_end(config) or 3
        run.settings = model_settings(config)
        runs.setdefault(method, []).append(run)
    return runs


# --------------------------------------------------------------------------- #
# aggregation (pure)


@dataclass
class Summary:
    """A figure over seeds: mean, sample standard deviation (None for one seed)."""

    mean: Optional[float]
    sd: Optional[float]
    n: int
    values: List[float] = field(default_factory=list)

    def fmt(self, digits: int = 1, unit: str = "") -> str:
        if self.mean is None:
            return "n/a"
        sd = f" ± {self.sd:.{digits}f}" if self.sd is not None else " (1 seed)"
        return f"{self.mean:.{digits}f}{unit}{sd}"


def summarize(values: Sequence[Optional[float]]) -> Summary:
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    if not v:
        return Summary(None, None, 0)
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else None
    return Summary(float(np.mean(v)), sd, len(v), v)


def fmt_ci(ci) -> str:
    """``mean [low, high]`` of a :func:`pooled_wer_ci` result (``n/a`` for None)."""
    return f"{ci[0]:.1f} [{ci[1]:.1f}, {ci[2]:.1f}]" if ci else "n/a"


def pooled_wer_ci(scores: Sequence[SetScore], n_resamples=1000, seed=0, level=0.95):
    """Bootstrap CI over test utterances of the seed-mean WER.

    Each utterance's errors are summed over the seeds (its reference words
    multiplied by the number of seeds), so the pooled WER is the mean of the
    seeds' WERs and the resampling unit is a test utterance.  Only utterances
    scored in every seed are used.  Returns ``(wer, lo, hi)`` or None.
    """
    scores = [s for s in scores if s.utt_ids]
    if not scores:
        return None
    common = set(scores[0].utt_ids).intersection(*[s.utt_ids for s in scores[1:]])
    ids = [u for u in scores[0].utt_ids if u in common]
    if not ids:
        return None
    err = np.zeros(len(ids), dtype=np.int64)
    ref = np.zeros(len(ids), dtype=np.int64)
    for s in scores:
        pos = {u: i for i, u in enumerate(s.utt_ids)}
        err += np.array([s.errors[pos[u]] for u in ids])
        ref += np.array([s.ref_words[pos[u]] for u in ids])
    if ref.sum() == 0:
        return None
    return bootstrap_wer_ci(err, ref, n_resamples=n_resamples, seed=seed, level=level)


def best_acc(curve: Sequence[Epoch]) -> Optional[float]:
    accs = [e.acc for e in curve if e.acc is not None]
    return max(accs) if accs else None


def to_target(curve: Sequence[Epoch], target: float) -> Optional[Tuple[int, float]]:
    """(epochs, seconds) until the validation accuracy first reaches ``target``
    (the seconds of every epoch up to and including it), None if never."""
    secs = 0.0
    for e in curve:
        secs += e.seconds
        if e.acc is not None and e.acc >= target:
            return e.epoch, secs
    return None


def choose_target(
    runs: Dict[str, List[StudyRun]], baselines=("dense", "curriculum"), frac=0.95
):
    """``frac`` x the best seed-mean of the best validation accuracy among the
    dense baselines present, or None when none ran."""
    means = [
        summarize([best_acc(r.curve) for r in runs[m]]).mean
        for m in baselines
        if m in runs
    ]
    means = [x for x in means if x is not None]
    return frac * max(means) if means else None


def early_grad_norm(run: StudyRun, key: str = "global_norm") -> Optional[float]:
    """Mean of ``key`` over the probes of the first ``early_epochs`` epochs."""
    v = [
        r[key]
        for r in run.grad_flow
        if r.get("epoch", 1e9) <= run.early_epochs
        and isinstance(r.get(key), (int, float))
    ]
    return float(np.mean(v)) if v else None


def early_layer_norms(run: StudyRun) -> Dict[str, float]:
    acc: Dict[str, List[float]] = {}
    for r in run.grad_flow:
        if r.get("epoch", 1e9) <= run.early_epochs:
            for k, v in (r.get("layers") or {}).items():
                acc.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def layer_group(name: str) -> str:
    """``encoder.encoders.3.self_attn.linear_q.weight`` -> ``encoder.encoders.3``."""
    m = re.match(r"^(.*?\.\d+)(\.|$)", name)
    return m.group(1) if m else re.sub(r"\.weight$", "", name)


def group_density(density: Dict[str, float]) -> Dict[str, float]:
    """Unweighted mean density of the layers of each block (``layer_group``)."""
    g: Dict[str, List[float]] = {}
    for k, v in density.items():
        g.setdefault(layer_group(k), []).append(v)
    return {k: float(np.mean(v)) for k, v in g.items()}
