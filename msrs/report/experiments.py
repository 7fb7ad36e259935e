"""Find training runs and scored decodings under an ``exp`` directory.

Training runs
    Directories holding a ``config.yaml`` plus at least one of
    ``checkpoint.pth``, ``train.log``, ``*epoch.pth``, ``sparsity.jsonl``,
    ``grad_flow.jsonl``; ``collect_stats`` runs are skipped.  A run's name is
    its path relative to ``exp_dir``.

Decodings
    Every ``scores.json`` (written by ``msrs.bin.score``) under ``exp_dir``.
    It belongs to the nearest training run above it; otherwise to a model
    named after its first path component under ``exp_dir``.

Conditions
    Parsed from the path between the model directory and ``scores.json``
    (components such as ``score``, ``score_wer``, ``scoring`` are ignored):

    - the SNR is a ``snr<N>`` token delimited by ``_ / . -`` or the string
      ends, optionally ``snr_<N>``, ``snr<N>db``; negative values as
      ``snr-5``, ``snrm5`` or ``snrneg5``;
    - without an SNR, a ``clean`` token (same delimiters) marks the clean
      condition and is removed too (``avsr.sh`` names decode directories
      ``<inference tag>_<test set>_{clean,snr<N>}``);
    - the rest, with a leading ``decode_`` removed, is the condition label
      (inference tag + test set), e.g. ``decode_beam40_test_snr-5`` ->
      (``beam40_test``, -5.0) and ``decode_beam40_test`` -> (``beam40_test``,
      clean).

    ``"condition"`` / ``"snr"`` keys in ``scores.json``, when present, take
    precedence over the path.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from msrs.report.training_logs import (
    EpochStats,
    load_epoch_stats,
    load_events,
    load_grad_flow,
    load_sparsity,
)

logger = logging.getLogger(__name__)

_RUN_MARKERS = ("checkpoint.pth", "train.log", "sparsity.jsonl", "grad_flow.jsonl")
_SCORE_DIRS = re.compile(r"^(score(_\w+)?|scoring|1best_recog)$")
_SNR = re.compile(
    r"(?:^|(?<=[_/.\-]))snr[_=]?(?P<sign>m|neg|-)?(?P<val>\d+(?:\.\d+)?)(?:db)?(?=$|[_/.\-])",
    re.IGNORECASE,
)
_CLEAN = re.compile(r"(?:^|(?<=[_/.\-]))clean(?=$|[_/.\-])", re.IGNORECASE)


@dataclass
class TrainingRun:
    """One training directory and what it holds.

    Attributes:
        name: path relative to ``exp_dir`` (``/``-separated).
        path: the directory.
        config: parsed ``config.yaml`` (``{}`` when unreadable).
        stats: per-epoch reporter statistics.
        stats_source: file the statistics came from (``""`` when none).
        n_params: number of model parameters in ``checkpoint.pth``, if read.
        sparsity: ``sparsity.jsonl`` records.
        grad_flow: ``grad_flow.jsonl`` records.
        events: ``sparsity_events.json`` content.
    """

    name: str
    path: Path
    config: Dict[str, Any] = field(default_factory=dict)
    stats: EpochStats = field(default_factory=dict)
    stats_source: str = ""
    n_params: Optional[int] = None
    sparsity: List[Dict[str, Any]] = field(default_factory=list)
    grad_flow: List[Dict[str, Any]] = field(default_factory=list)
    events: Dict[str, Any] = field(default_factory=dict)


@dataclass
class DecodeResult:
    """One scored decoding.

    Attributes:
        model: name of the training run (or pseudo-model) it belongs to.
        condition: condition label without the SNR (e.g. ``beam40_test``).
        snr: SNR in dB, ``None`` for clean.
        scores: ``scores.json`` content.
        path: the ``scores.json`` file.
    """

    model: str
    condition: str
    snr: Optional[float]
    scores: Dict[str, Any]
    path: Path


def parse_condition(rel: str) -> Tuple[str, Optional[float]]:
    """Split a decode path (relative to the model dir) into condition and SNR.

    Args:
        rel: e.g. ``"decode_beam40_test_snr-5"`` or ``"decode_x/test/score"``.

    Returns:
        ``(condition, snr)``; ``snr`` is ``None`` for clean.

    Examples:
        >>> parse_condition("decode_beam40_test_snr-5")
        ('beam40_test', -5.0)
        >>> parse_condition("decode_beam40/test_snrm2.5db/score")
        ('beam40/test', -2.5)
        >>> parse_condition("decode_beam40_test_clean/score")
        ('beam40_test', None)
    """
    parts = [p for p in rel.replace("\\", "/").split("/") if p and p != "."]
    parts = [p for p in parts if not _SCORE_DIRS.match(p)]
    text = "/".join(parts)
    snr = None
    m = None
    for m in _SNR.finditer(text):
        pass
    if m is None:
        for m in _CLEAN.finditer(text):
            pass
        if m is not None:  # an explicit clean marker, as avsr.sh names it
            text = text[: m.start()] + text[m.end() :]
    else:
        snr = float(m.group("val")) * (-1.0 if m.group("sign") else 1.0)
        text = text[: m.start()] + text[m.end() :]
    text = re.sub(r"[_\-.]*/[_\-.]*", "/", text)
    text = re.sub(r"[_\-.]{2,}", "_", text).strip("_-./")
    text = re.sub(r"^decode(_|/|$)", "", text)
    return text or "default", snr


def _load_yaml(path: Path) -> Dict[str, Any]:
    try:
        with path.open("r", encoding="utf-8") as f:
            obj = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        logger.warning("%s: cannot read (%s); config summary skipped", path, e)
        return {}
    return obj if isinstance(obj, dict) else {}


_NOT_PARAMS = re.compile(
    r"(\.parametrizations\.[^.]+\.\d+\.|^sparsity\.|running_(mean|var)$|num_batches_tracked$)"
)


def _count_params(ckpt: Optional[Dict[str, Any]]) -> Optional[int]:
    """Floating-point weights in ``checkpoint.pth["model"]``.

    Mask parametrization state (``.parametrizations.<w>.<i>.*``: logits,
    masks), ``sparsity.*`` buffers and BatchNorm statistics are not counted.
    """
    model = (ckpt or {}).get("model")
    if not isinstance(model, dict):
        return None
    n = 0
    for k, v in model.items():
        if _NOT_PARAMS.search(k):
            continue
        if hasattr(v, "numel") and getattr(v, "is_floating_point", lambda: False)():
            n += int(v.numel())
    return n or None


def _is_run_dir(d: Path) -> bool:
    if not (d / "config.yaml").is_file():
        return False
    return any((d / m).exists() for m in _RUN_MARKERS) or any(d.glob("*epoch.pth"))


def load_run(path: Path, name: str) -> TrainingRun:
    """Read everything the report needs from one training directory."""
    config = _load_yaml(path / "config.yaml")
    stats, source, ckpt = load_epoch_stats(path)
    run = TrainingRun(
        name=name,
        path=path,
        config=config,
        stats=stats,
        stats_source=source,
        n_params=_count_params(ckpt),
        sparsity=load_sparsity(path),
        grad_flow=load_grad_flow(path),
        events=load_events(path),
    )
    del ckpt
    return run


def scan_exp(exp_dir: Union[str, Path]) -> Tuple[List[TrainingRun], List[DecodeResult]]:
    """Find training runs and decodings under ``exp_dir``.

    Args:
        exp_dir: recipe ``exp`` directory.

    Returns:
        ``(runs, decodes)`` sorted by name / (model, condition, snr).

    Raises:
        FileNotFoundError: ``exp_dir`` does not exist.
    """
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        raise FileNotFoundError(f"--exp_dir {exp_dir}: no such directory")
    run_dirs: Dict[Path, str] = {}
    for cfg in sorted(exp_dir.rglob("config.yaml")):
        d = cfg.parent
        if not _is_run_dir(d):
            continue
        config = _load_yaml(cfg)
        if config.get("collect_stats"):
            continue
        run_dirs[d.resolve()] = d.relative_to(exp_dir).as_posix() or d.name
    runs = []
    for d, name in sorted(run_dirs.items(), key=lambda x: x[1]):
        logger.info("reading training run %s", name)
        runs.append(load_run(d, name))

    decodes: List[DecodeResult] = []
    for sj in sorted(exp_dir.rglob("scores.json")):
        try:
            scores = json.loads(sj.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            logger.warning("%s: unreadable (%s); skipped", sj, e)
            continue
        if not isinstance(scores, dict) or "wer" not in scores:
            logger.warning("%s: no 'wer' key; not an msrs scores.json, skipped", sj)
            continue
        owner = None
        for parent in sj.resolve().parents:
            if parent in run_dirs:
                owner = parent
                break
        if owner is not None:
            model = run_dirs[owner]
            rel = sj.resolve().parent.relative_to(owner).as_posix()
        else:
            rel_all = sj.relative_to(exp_dir).parent.as_posix().split("/")
            model, rel = rel_all[0], "/".join(rel_all[1:])
        condition, snr = parse_condition(rel)
        if isinstance(scores.get("condition"), str):
            condition = scores["condition"]
        if isinstance(scores.get("snr"), (int, float)):
            snr = float(scores["snr"])
        decodes.append(DecodeResult(model, condition, snr, scores, sj))
    decodes.sort(key=lambda d: (d.model, d.condition, d.snr is not None, -(d.snr or 0)))
    return runs, decodes


# --------------------------------------------------------------------------- #
# config summary


def _find_key(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        for v in node.values():
            r = _find_key(v, key)
            if r is not None:
                return r
    return None


def _modality(config: Dict[str, Any]) -> str:
    for key in ("modality", "modalities"):
        v = _find_key(config, key)
        if v is not None:
            return str(v)
    if config.get("lm") not in (None, "none") and "encoder" not in config:
        return "text (language model)"
    names = set()
    for k, v in config.items():
        if k.endswith("_data_path_and_name_and_type") and isinstance(v, list):
            names |= {x[1] for x in v if isinstance(x, (list, tuple)) and len(x) > 1}
    if {"video", "speech"} <= names:
        return "av (audio-visual)"
    if "video" in names:
        return "v (video only)"
    if "speech" in names:
        return "a (audio only)"
    return "unknown"


def _block(config: Dict[str, Any], name: str) -> str:
    kind = config.get(name)
    if kind in (None, "none", "null"):
        return "none"
    conf = config.get(f"{name}_conf") or {}
    keys = (
        ("num_blocks", "layers"),
        ("output_size", "d"),
        ("attention_heads", "heads"),
        ("linear_units", "ff"),
    )
    extras = [f"{label}={conf[k]}" for k, label in keys if k in conf]
    return f"{kind}" + (f" ({', '.join(extras)})" if extras else "")


def _scalars(conf: Any) -> str:
    if not isinstance(conf, dict) or not conf:
        return ""
    items = []
    for k, v in conf.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            items.append(f"{k}={v}")
        elif isinstance(v, (list, tuple)) and len(v) <= 6:
            items.append(f"{k}={list(v)}")
    return ", ".join(items)


def summarize_config(run: TrainingRun) -> Dict[str, str]:
    """Short, human-readable summary of a run's config and progress.

    Returns:
        Ordered ``{label: text}`` for the RESULTS.md model section.
    """
    c = run.config
    out: Dict[str, str] = {}
    out["modality"] = _modality(c)
    # ESPnet writes every class choice into config.yaml, also the frontend of
    # a stream the modality does not use (a vsr model's default audio frontend).
    unused = {"vsr": ("audio_frontend",), "asr": ("video_frontend",)}.get(out["modality"], ())
    frontends = [
        f"{k}: {v}"
        for k, v in c.items()
        if k.endswith("frontend") and isinstance(v, str) and k not in unused
    ]
    out["frontend"] = ", ".join(frontends) or "none"
    out["encoder"] = _block(c, "encoder")
    out["decoder"] = _block(c, "decoder")
    if run.n_params:
        out["parameters"] = f"{run.n_params / 1e6:.2f} M ({run.n_params:,})"
    mc = c.get("model_conf") or {}
    if "ctc_weight" in mc:
        out["ctc weight"] = str(mc["ctc_weight"])
    tl = c.get("token_list")
    vocab = f", {len(tl)} tokens" if isinstance(tl, list) else ""
    if c.get("token_type"):
        out["tokens"] = f"{c.get('token_type')}{vocab}"
    sp = c.get("sparsity")
    if sp in (None, "none", "null"):
        out["sparsity"] = "none (dense)"
    else:
        conf = _scalars(c.get("sparsity_conf"))
        out["sparsity"] = f"{sp}" + (f" ({conf})" if conf else "")
    if c.get("optim"):
        lr = (c.get("optim_conf") or {}).get("lr")
        sched = c.get("scheduler")
        out["optimizer"] = (
            f"{c['optim']}"
            + (f", lr={lr}" if lr is not None else "")
            + (f", scheduler={sched}" if sched not in (None, "none") else "")
        )
    epochs = sorted(run.stats)
    max_epoch = c.get("max_epoch")
    out["epochs"] = f"{epochs[-1] if epochs else 0} trained" + (
        f" of max_epoch={max_epoch}" if max_epoch is not None else ""
    )
    seconds = sum(v.get("time", 0.0) for e in run.stats.values() for v in e.values())
    if seconds > 0:
        import humanfriendly

        out["training time"] = (
            f"{humanfriendly.format_timespan(seconds)} (train+valid, sum over epochs)"
        )
    for phase, key, mode in (("valid", "acc", max), ("valid", "loss", min)):
        vals = [
            (e, s[phase][key]) for e, s in run.stats.items() if key in s.get(phase, {})
        ]
        if vals:
            e, v = mode(vals, key=lambda x: x[1])
            out[f"best {phase} {key}"] = f"{v:.4f} (epoch {e})"
    return out
