"""Readers for what a training run leaves in its ``output_dir``.

- Per-epoch reporter statistics: ``checkpoint.pth["reporter"]`` (ESPnet's
  ``Reporter.state_dict()``: ``{"epoch": N, "stats": {epoch: {"train":
  {key: value}, "valid": {...}}}}``), or, when the checkpoint is gone, the
  ``<N>epoch results: [train] k=v, ... [valid] k=v, ...`` lines of
  ``train.log``.
- ``sparsity.jsonl`` / ``grad_flow.jsonl``: one JSON object per line
  (docs/architecture.md).  A line that does not parse (e.g. the last line of a
  killed job) is skipped with a warning naming ``file:line``; a repeated
  epoch/step (a resumed run) keeps the last record.
- ``sparsity_events.json``: a JSON object.

All readers return empty results for missing files; they never raise on bad
content.
"""

import datetime
import json
import logging
import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

logger = logging.getLogger(__name__)

# stats[epoch][phase][key] = value
EpochStats = Dict[int, Dict[str, Dict[str, float]]]

_EPOCH_LINE = re.compile(r"(\d+)epoch results: (.*)$")
_SECTION = re.compile(r"\[(\w+)\] ")
_KV = re.compile(r"(\w+)=(.*?)(?=, \w+=|, \[\w+\] |$)")


def _to_float(v: Any) -> Optional[float]:
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, bool):
        return float(v)
    try:
        f = float(v.item() if hasattr(v, "item") else v)
    except (TypeError, ValueError):
        return None
    return f


def stats_from_reporter_state(state: Dict[str, Any]) -> EpochStats:
    """Convert ESPnet's ``Reporter.state_dict()`` into plain floats.

    ``time`` (a ``timedelta``) becomes seconds; non-numeric values are dropped.

    Args:
        state: ``{"epoch": int, "stats": {epoch: {phase: {key: value}}}}``.

    Returns:
        ``stats[epoch][phase][key] -> float`` with int epochs.
    """
    out: EpochStats = {}
    for epoch, phases in (state.get("stats") or {}).items():
        for phase, values in (phases or {}).items():
            for key, v in (values or {}).items():
                f = _to_float(v)
                if f is not None:
                    out.setdefault(int(epoch), {}).setdefault(phase, {})[key] = f
    return dict(sorted(out.items()))


def load_checkpoint(path: Union[str, Path]) -> Optional[Dict[str, Any]]:
    """Load an ESPnet ``checkpoint.pth`` memory-mapped (tensors are not read).

    Returns:
        The checkpoint dict, or ``None`` (with a warning) if it cannot be read.
    """
    import torch

    path = Path(path)
    for kwargs in (dict(mmap=True), {}):
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False, **kwargs)
            return ckpt if isinstance(ckpt, dict) else None
        except Exception as e:  # noqa: PERF203
            err = e
    logger.warning("%s: cannot read checkpoint (%s)", path, err)
    return None


def parse_train_log(path: Union[str, Path]) -> EpochStats:
    """Parse ESPnet's ``<N>epoch results:`` lines from a training log.

    Durations (``time=1 minute and 2.5 seconds``) are dropped; later lines for
    the same epoch win (resumed runs).

    Args:
        path: ``train.log``.

    Returns:
        ``stats[epoch][phase][key] -> float``.
    """
    out: EpochStats = {}
    path = Path(path)
    if not path.is_file():
        return out
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            parsed = parse_train_log_line(line)
            if parsed is not None:
                out[parsed[0]] = parsed[1]
    return dict(sorted(out.items()))


def parse_train_log_line(line: str) -> Optional[Tuple[int, Dict[str, Dict[str, float]]]]:
    """``(epoch, {phase: {key: value}})`` of one ``<N>epoch results:`` line, else ``None``."""
    m = _EPOCH_LINE.search(line.rstrip("\n"))
    if not m:
        return None
    parts = _SECTION.split(m.group(2))
    # parts: ["", phase1, body1, phase2, body2, ...]
    record: Dict[str, Dict[str, float]] = {}
    for phase, body in zip(parts[1::2], parts[2::2]):
        body = body.rstrip().rstrip(",")
        for k, v in _KV.findall(body):
            f_v = _to_float(v.strip())
            if f_v is not None:
                record.setdefault(phase, {})[k] = f_v
    return (int(m.group(1)), record) if record else None


def load_epoch_stats(
    train_dir: Union[str, Path],
) -> Tuple[EpochStats, str, Optional[Dict]]:
    """Per-epoch statistics of a training directory.

    Args:
        train_dir: ESPnet ``output_dir``.

    Returns:
        ``(stats, source, checkpoint)``: ``source`` names the file used
        (``""`` when none); ``checkpoint`` is the loaded ``checkpoint.pth``
        dict (``None`` when absent) so callers can read more from it.
    """
    train_dir = Path(train_dir)
    ckpt_path = train_dir / "checkpoint.pth"
    ckpt = load_checkpoint(ckpt_path) if ckpt_path.is_file() else None
    if ckpt is not None and isinstance(ckpt.get("reporter"), dict):
        stats = stats_from_reporter_state(ckpt["reporter"])
        if stats:
            return stats, str(ckpt_path), ckpt
    log = train_dir / "train.log"
    stats = parse_train_log(log)
    return stats, (str(log) if stats else ""), ckpt


def read_jsonl(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Read a JSON-lines file, skipping (and naming) unparsable lines."""
    path = Path(path)
    out: List[Dict[str, Any]] = []
    if not path.is_file():
        return out
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                logger.warning("%s:%d: skipped, not JSON (%s)", path, lineno, e)
                continue
            if isinstance(obj, dict):
                out.append(obj)
            else:
                logger.warning("%s:%d: skipped, not a JSON object", path, lineno)
    return out


def _dedup(records: List[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
    by: Dict[Any, Dict[str, Any]] = {}
    for r in records:
        k = r.get(key)
        if isinstance(k, (int, float)) and not (isinstance(k, float) and math.isnan(k)):
            by[k] = r
    return [by[k] for k in sorted(by)]


def load_sparsity(train_dir: Union[str, Path]) -> List[Dict[str, Any]]:
    """``sparsity.jsonl`` records sorted by epoch (last record per epoch)."""
    return _dedup(read_jsonl(Path(train_dir) / "sparsity.jsonl"), "epoch")


def load_grad_flow(train_dir: Union[str, Path]) -> List[Dict[str, Any]]:
    """``grad_flow.jsonl`` records sorted by step (last record per step)."""
    return _dedup(read_jsonl(Path(train_dir) / "grad_flow.jsonl"), "step")


def load_events(train_dir: Union[str, Path]) -> Dict[str, Any]:
    """``sparsity_events.json`` as a dict (empty when absent or unreadable)."""
    path = Path(train_dir) / "sparsity_events.json"
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        logger.warning("%s: not JSON (%s); ignored", path, e)
        return {}
    return obj if isinstance(obj, dict) else {}


def find_event(events: Dict[str, Any], *names: str) -> Optional[float]:
    """Find a numeric event value by key, tolerant to the events file layout.

    Looks for each ``name`` (e.g. ``"freeze_epoch"``) at top level, then for
    ``{"freeze": {"epoch": ...}}``-style nesting (``name`` split at its last
    underscore), then anywhere one level down.

    Returns:
        The first numeric value found, else ``None``.
    """
    for name in names:
        v = events.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if "_" in name:
            head, tail = name.rsplit("_", 1)
            sub = events.get(head)
            if isinstance(sub, dict) and isinstance(sub.get(tail), (int, float)):
                return float(sub[tail])
        for sub in events.values():
            if isinstance(sub, dict) and isinstance(sub.get(name), (int, float)):
                return float(sub[name])
    return None
