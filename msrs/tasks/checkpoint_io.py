"""Crash-safe checkpoint files for ESPnet's trainer.

ESPnet's ``Trainer.run`` writes ``checkpoint.pth`` and ``<N>epoch.pth`` in
place with ``torch.save``, so a kill during the write leaves a truncated file:
the rerun then fails in ``torch.load`` (``EOFError``), and a truncated epoch
file makes ``average_nbest_models`` fail after the last epoch.  This module
fixes that without copying ESPnet code:

* :func:`crash_safe_saving` swaps, for the duration of a run, the ``torch``
  and ``average_nbest_models`` names *inside* ``espnet2.train.trainer`` for

  - a proxy module whose ``save`` writes a temporary file in the same
    directory, fsyncs it, renames it over the target and fsyncs the directory
    (:func:`atomic_save`), so a file is either the old or the new version;
    each ``checkpoint.pth`` write also leaves ``<N>epoch.state.pth`` (the
    small non-model state: reporter, schedulers, AMP scaler) next to the
    epoch file, for the fallback below;
  - :func:`safe_average_nbest_models`, which checks every epoch file it
    would average, warns naming each unreadable or missing one and averages
    the next-best intact epochs instead;

* :func:`repair_resume_checkpoint` runs before ESPnet's resume: a missing
  (while epoch state files exist),
  empty, truncated or corrupt ``checkpoint.pth`` is moved aside to
  ``checkpoint.pth.corrupt`` and rebuilt from the newest intact
  ``<N>epoch.pth`` + ``<N>epoch.state.pth`` (model weights, reporter history,
  scheduler position; the optimizer moments restart), with a warning.
"""

import contextlib
import logging
import os
import re
import types
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from espnet2.train.reporter import Reporter

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pth"
STATE_SUFFIX = "epoch.state.pth"
_EPOCH_FILE = re.compile(r"^(\d+)epoch\.pth$")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: Union[str, Path, Any], **kwargs) -> None:
    """``torch.save(obj, path)`` that never leaves a partial ``path``.

    The object is written to ``.<name>.tmp.<pid>`` in the same directory,
    flushed and fsynced, renamed over ``path`` (atomic on POSIX) and the
    directory is fsynced.  A file-like ``path`` is passed to ``torch.save``
    unchanged.
    """
    if not isinstance(path, (str, os.PathLike)):
        torch.save(obj, path, **kwargs)
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f, **kwargs)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def checkpoint_problem(path: Path) -> Optional[str]:
    """Why ``path`` cannot be loaded by ``torch.load`` (``None``: it can).

    Zip-format files (every ``torch.save`` since torch 1.6) are checked
    entry by entry against their CRC-32 without unpickling; other files are
    loaded.
    """
    path = Path(path)
    if not path.exists():
        return "missing" if not path.is_symlink() else "dangling symlink"
    try:
        size = path.stat().st_size
    except OSError as e:
        return f"cannot stat: {e.strerror}"
    if size == 0:
        return "empty (0 bytes)"
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            return None if bad is None else f"corrupt entry {bad} (CRC mismatch)"
        torch.load(path, map_location="cpu", weights_only=False)
        return None
    except Exception as e:  # truncated zip, EOFError, UnpicklingError, ...
        return f"{size} bytes, unreadable ({type(e).__name__}: {e})"


def state_file(output_dir: Path, epoch: int) -> Path:
    """``<output_dir>/<epoch>epoch.state.pth``: non-model training state."""
    return Path(output_dir) / f"{epoch}{STATE_SUFFIX}"


def epoch_files(output_dir: Path) -> List[Tuple[int, Path]]:
    """``(epoch, <epoch>epoch.pth)`` in ``output_dir``, newest first."""
    out = []
    for p in Path(output_dir).iterdir() if Path(output_dir).is_dir() else []:
        m = _EPOCH_FILE.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out, reverse=True)


def _save_with_state(obj: Any, path: Any, **kwargs) -> None:
    """``atomic_save``; for ``checkpoint.pth`` also ``<N>epoch.state.pth``."""
    atomic_save(obj, path, **kwargs)
    if not isinstance(path, (str, os.PathLike)) or Path(path).name != CHECKPOINT:
        return
    if not isinstance(obj, dict) or "reporter" not in obj:
        return
    out = Path(path).parent
    epoch = int(obj["reporter"]["epoch"])
    small = {k: obj.get(k) for k in ("reporter", "schedulers", "scaler")}
    atomic_save(small, state_file(out, epoch))
    prune_state_files(out, keep=epoch)


def prune_state_files(output_dir: Path, keep: Optional[int] = None) -> None:
    """Delete ``<N>epoch.state.pth`` whose ``<N>epoch.pth`` is gone (except ``keep``)."""
    for p in Path(output_dir).glob(f"*{STATE_SUFFIX}"):
        m = re.match(r"^(\d+)" + re.escape(STATE_SUFFIX) + "$", p.name)
        if m and int(m.group(1)) != keep and not (p.parent / f"{m.group(1)}epoch.pth").exists():
            with contextlib.suppress(OSError):
                p.unlink()


class _AtomicTorch(types.ModuleType):
    """``torch`` as seen by ``espnet2.train.trainer``: ``save`` is atomic."""

    save = staticmethod(_save_with_state)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


class _ReporterWithout(Reporter):
    """A read-only view of a ``Reporter`` in which some epochs do not exist."""

    def __init__(self, base: Reporter, exclude: Sequence[int]):
        super().__init__(epoch=base.get_epoch())
        self._base = base
        self.stats = {e: s for e, s in base.stats.items() if e not in set(exclude)}

    def has(self, key: str, key2: str, epoch: int = None) -> bool:
        return self._base.has(key, key2, epoch)


def safe_average_nbest_models(
    output_dir: Path,
    reporter: Reporter,
    best_model_criterion: Sequence[Sequence[str]],
    nbest,
    suffix: Optional[str] = None,
    use_deepspeed: bool = False,
) -> None:
    """ESPnet's ``average_nbest_models`` over intact epoch files only.

    For each criterion the best epochs are checked in order until
    ``max(nbest)`` intact ``<N>epoch.pth`` are found; each unreadable or
    missing one is named in a warning and left out (the next best takes its
    place).  Raises ``RuntimeError`` naming the files when no epoch of any
    criterion is intact.
    """
    from espnet2.main_funcs.average_nbest_models import average_nbest_models

    if use_deepspeed:
        average_nbest_models(output_dir, reporter, best_model_criterion, nbest, suffix, use_deepspeed)
        return
    output_dir = Path(output_dir)
    nbests = [nbest] if isinstance(nbest, int) else list(nbest) or [1]
    want = max(1, max(nbests))
    bad: Dict[int, str] = {}
    goods: List[int] = []
    for ph, k, m in best_model_criterion:
        if not reporter.has(ph, k):
            continue
        good = 0
        for e in reporter.sort_epochs(ph, k, m):
            if good >= want:
                break
            if e in bad:
                continue
            problem = checkpoint_problem(output_dir / f"{e}epoch.pth")
            if problem is None:
                good += 1
            else:
                bad[e] = problem
        goods.append(good)
    for e, problem in sorted(bad.items()):
        logger.warning(
            "model averaging: skipping %s (%s); the next best intact epoch is used instead",
            output_dir / f"{e}epoch.pth",
            problem,
        )
    if bad and not any(goods):
        raise RuntimeError(
            "model averaging: no intact epoch file to average in "
            f"{output_dir}: "
            + "; ".join(f"{e}epoch.pth: {p}" for e, p in sorted(bad.items()))
        )
    if bad:
        # Average as many intact epochs as there are (ESPnet would fall back to 1).
        have = min(g for g in goods if g > 0)
        nbests = sorted({min(n, have) for n in nbests})
    average_nbest_models(
        output_dir=output_dir,
        reporter=_ReporterWithout(reporter, list(bad)) if bad else reporter,
        best_model_criterion=best_model_criterion,
        nbest=nbests,
        suffix=suffix,
    )


@contextlib.contextmanager
def crash_safe_saving() -> Iterator[None]:
    """Within the block, ESPnet's trainer saves atomically and averages safely."""
    import espnet2.train.trainer as espnet_trainer

    saved = (espnet_trainer.torch, espnet_trainer.average_nbest_models)
    espnet_trainer.torch = _AtomicTorch("torch")
    espnet_trainer.average_nbest_models = safe_average_nbest_models
    try:
        yield
    finally:
        espnet_trainer.torch, espnet_trainer.average_nbest_models = saved


def _optimizer_states(optimizers, schedulers_state) -> List[Dict[str, Any]]:
    """Fresh optimizer states whose learning rates are the schedulers' last ones."""
    states = []
    for i, opt in enumerate(optimizers):
        st = opt.state_dict()
        sch = schedulers_state[i] if schedulers_state and i < len(schedulers_state) else None
        last = sch.get("_last_lr") if isinstance(sch, dict) else None
        if last is not None and len(last) == len(st["param_groups"]):
            for g, lr in zip(st["param_groups"], last):
                g["lr"] = lr
        states.append(st)
    return states


def repair_resume_checkpoint(output_dir: Union[str, Path], optimizers) -> Optional[int]:
    """Make ``<output_dir>/checkpoint.pth`` loadable before ESPnet resumes.

    Nothing happens when it is intact, or when it is missing and no
    ``<N>epoch.state.pth`` exists (a new run).  Otherwise the unreadable
    file is moved to ``checkpoint.pth.corrupt`` and replaced by one built
    from the newest intact ``<N>epoch.pth`` with its ``<N>epoch.state.pth``,
    and a warning says so.  Training then resumes after epoch ``N`` with
    fresh optimizer moments (learning rates from the saved schedulers).  With
    no intact epoch file at all, training starts again (warning); intact
    epoch files without their state file are an error (never overwritten).

    Returns:
        The epoch resumed from when a fallback was built, else ``None``.
    """
    out = Path(output_dir)
    ck = out / CHECKPOINT
    problem = checkpoint_problem(ck)
    has_states = any(out.glob(f"*{STATE_SUFFIX}")) if out.is_dir() else False
    if problem is None or (problem == "missing" and not has_states):
        return None
    aside = out / (CHECKPOINT + ".corrupt")
    what = f"{ck} is {problem}" + ("" if problem == "missing" else f"; moved to {aside}")

    def move_aside() -> None:  # kept, never deleted: nothing is lost
        if problem != "missing":
            os.replace(ck, aside)

    for epoch, path in epoch_files(out):
        st = state_file(out, epoch)
        if checkpoint_problem(path) is not None or checkpoint_problem(st) is not None:
            continue
        small = torch.load(st, map_location="cpu", weights_only=False)
        model = torch.load(path, map_location="cpu", weights_only=False)
        move_aside()
        atomic_save(
            {
                "model": model,
                "reporter": small["reporter"],
                "optimizers": _optimizer_states(optimizers, small.get("schedulers")),
                "schedulers": small.get("schedulers") or [None] * len(optimizers),
                "scaler": small.get("scaler"),
            },
            ck,
        )
        logger.warning(
            "RESUME FALLBACK: %s. Resuming from %s (end of epoch %d) with its saved "
            "reporter and scheduler state; optimizer moments restart, epochs after %d are retrained.",
            what,
            path,
            epoch,
            epoch,
        )
        return epoch
    orphans = [p.name for _, p in epoch_files(out) if checkpoint_problem(p) is None]
    if orphans:
        # Weights without their training state (written before epoch state
        # files existed): never retrain over them silently.
        raise RuntimeError(
            f"{ck} is {problem}, and the intact {', '.join(orphans)} in {out} have no "
            f"<N>{STATE_SUFFIX} to resume with. To start this experiment again, "
            f"move {out} aside (or delete its *epoch.pth); to keep a model, use e.g. "
            f"--init_param {out / orphans[0]} in a new output directory."
        )
    move_aside()
    logger.warning(
        "RESUME FALLBACK: %s and no intact <N>epoch.pth is left in %s; "
        "training starts again from epoch 1.",
        what,
        out,
    )
    return None
