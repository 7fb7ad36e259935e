"""ESPnet trainer that drives the sparsity phase scheduler.

:class:`MsrsTrainer` subclasses ESPnet's ``Trainer`` (its loop is reused
as is) and adds, per training epoch:

* ``sparsity.start_epoch`` before and ``sparsity.end_epoch`` after ESPnet's
  ``train_one_epoch`` (phase ends, freeze test, epoch-interval topology
  updates); per-step work runs in the optimizer step hooks installed by the
  sparsity object;
* per-epoch sparsity scalars into ESPnet's reporter (so ``images/<key>.png``
  and tensorboard curves appear): ``sparsity_density``, ``sparsity_phase``,
  ``sparsity_flip_rate``, ``sparsity_temperature`` (search phases) and
  ``density/<module group>``;
* rank 0 files in ``output_dir``: ``sparsity.jsonl`` (one line per epoch),
  ``sparsity_events.json`` (phase changes, freeze epoch/step/density) and,
  with ``--grad_flow_interval N`` (with or without sparsity),
  ``grad_flow.jsonl`` (see :mod:`msrs.sparse.grad_flow`).

While ESPnet trains an epoch, weights and mask logits are clipped apart
(:mod:`msrs.sparse.clipping`): ``grad_norm`` in the logs is the weights'
norm, ``sparsity_logit_grad_norm`` the logits'.

After ESPnet's n-best averaging it re-binarises masks in every ``*ave*.pth``
(:mod:`msrs.sparse.averaging`).  Under DDP it turns on
``--unused_parameters`` when the configured phases still train mask logits
(they are unused outside search phases; the check runs before ESPnet
resumes, so a run resumed after its search turns it on too) and keeps mask buffers out of DDP's per-step buffer broadcast (they are
kept identical by deterministic updates and explicit broadcasts).  Files from
an interrupted run are truncated to the resumed state, so they never hold
duplicate epochs.

Subclasses add per-epoch work by overriding :meth:`MsrsTrainer.after_train_epoch`
and :meth:`MsrsTrainer.after_valid_epoch` instead of re-implementing ESPnet's
epoch methods.
"""

import argparse
import contextlib
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from espnet2.train.trainer import Trainer, TrainerOptions
from espnet2.utils.build_dataclass import build_dataclass

from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.averaging import fix_averaged_checkpoints
from msrs.sparse.clipping import mean_norm, split_clipping
from msrs.sparse.grad_flow import GradFlowProbe
from msrs.utils.distributed import close_process_group

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class MsrsTrainerOptions(TrainerOptions):
    """ESPnet's trainer options plus ``grad_flow_interval`` (steps; 0 = off)."""

    grad_flow_interval: int = 0


@dataclasses.dataclass
class _RunContext:
    output_dir: Path
    rank0: bool
    probe: Optional[GradFlowProbe] = None
    step: Optional[int] = None
    first_epoch: Optional[int] = None
    handles: List[Any] = dataclasses.field(default_factory=list)
    model: Optional[torch.nn.Module] = None


class _ProbeIterator:
    """Iterator wrapper offering the first batch to the probe; keeps ``len``."""

    def __init__(self, iterator, probe: GradFlowProbe):
        self.iterator = iterator
        self.probe = probe

    def __len__(self):
        return len(self.iterator)

    def __iter__(self):
        for utt_id, batch in self.iterator:
            if self.probe.batch is None:
                b = dict(batch)
                b["utt_id"] = utt_id
                self.probe.offer(b)
            yield utt_id, batch


def _sparsity_of(model: torch.nn.Module) -> Optional[AbsSparsity]:
    inner = getattr(model, "module", model)
    sp = getattr(inner, "sparsity", None)
    return sp if isinstance(sp, AbsSparsity) else None


def _initial_step(sparsity: Optional[AbsSparsity], optimizers) -> int:
    if sparsity is not None:
        return sparsity.steps
    for opt in optimizers:
        for st in opt.state.values():
            s = st.get("step") if isinstance(st, dict) else None
            if s is not None:
                return int(float(s))
    return 0


class MsrsTrainer(Trainer):
    """ESPnet ``Trainer`` with sparsity hooks, reporting and gradient flow.

    A distributed run ends with every rank waiting for rank 0's averaging and
    the process group destroyed (:func:`msrs.utils.distributed.close_process_group`).
    """

    _ctx: Optional[_RunContext] = None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser):
        super().add_arguments(parser)
        group = parser.add_argument_group("MSRS trainer related")
        group.add_argument(
            "--grad_flow_interval",
            type=int,
            default=0,
            help="Probe the task-loss gradient norms on a fixed training batch every N "
            "optimizer steps into <output_dir>/grad_flow.jsonl (0: off). Works with or "
            "without --sparsity.",
        )

    @classmethod
    def build_options(cls, args: argparse.Namespace) -> MsrsTrainerOptions:
        if not hasattr(args, "grad_flow_interval"):
            args.grad_flow_interval = 0
        if args.grad_flow_interval < 0:
            raise ValueError(f"--grad_flow_interval must be >= 0, got {args.grad_flow_interval}")
        return build_dataclass(MsrsTrainerOptions, args)

    @classmethod
    def run(
        cls,
        model,
        optimizers,
        schedulers,
        train_iter_factory,
        valid_iter_factory,
        plot_attention_iter_factory,
        trainer_options,
        distributed_option,
    ) -> None:
        sparsity = _sparsity_of(model)
        output_dir = Path(trainer_options.output_dir)
        rank0 = not distributed_option.distributed or distributed_option.dist_rank == 0
        ctx = _RunContext(output_dir=output_dir, rank0=rank0, model=model)
        if sparsity is not None:
            for opt in optimizers:
                sparsity.register_optimizer(opt)
            trains_logits = sparsity.logit_parameters and sparsity._later_search(sparsity._s["phase_index"])
            if distributed_option.distributed and trains_logits and not trainer_options.unused_parameters:
                logger.warning(
                    "sparsity: mask logits are unused outside search phases; "
                    "setting unused_parameters=True for DDP"
                )
                trainer_options.unused_parameters = True
        interval = int(getattr(trainer_options, "grad_flow_interval", 0) or 0)
        if interval > 0 and rank0 and optimizers:
            ctx.probe = GradFlowProbe(output_dir, interval)
            ctx.handles.append(optimizers[0].register_step_post_hook(cls._probe_hook))
        cls._ctx = ctx
        try:
            super().run(
                model=model,
                optimizers=optimizers,
                schedulers=schedulers,
                train_iter_factory=train_iter_factory,
                valid_iter_factory=valid_iter_factory,
                plot_attention_iter_factory=plot_attention_iter_factory,
                trainer_options=trainer_options,
                distributed_option=distributed_option,
            )
        finally:
            for h in ctx.handles:
                h.remove()
            cls._ctx = None
        if rank0 and sparsity is not None:
            fix_averaged_checkpoints(output_dir)
        if distributed_option.distributed:  # every rank waits for rank 0's averaging
            close_process_group()

    @classmethod
    def _probe_hook(cls, optimizer, args, kwargs) -> None:
        ctx = cls._ctx
        if ctx is None or ctx.probe is None or ctx.step is None:
            return
        ctx.step += 1
        if ctx.step % ctx.probe.interval != 0:
            return
        sp = _sparsity_of(ctx.model)
        epoch = sp._s["epoch"] if sp is not None else (ctx.first_epoch or 0)
        ctx.probe.measure(ctx.model, ctx.step, epoch, sp.phase if sp is not None else "none")

    @classmethod
    def train_one_epoch(
        cls,
        model,
        iterator,
        optimizers,
        schedulers,
        scaler,
        reporter,
        summary_writer,
        options,
        distributed_option,
    ) -> bool:
        ctx = cls._ctx
        sparsity = _sparsity_of(model)
        epoch = reporter.get_epoch()
        if ctx is not None and ctx.step is None:
            ctx.step = _initial_step(sparsity, optimizers)
            ctx.first_epoch = epoch
            if ctx.rank0:
                cls._truncate_files(ctx, epoch)
        if ctx is not None and sparsity is None:
            ctx.first_epoch = epoch
        if sparsity is not None:
            hint = None
            try:
                hint = max(1, len(iterator) // max(1, options.accum_grad))
            except TypeError:
                pass
            sparsity.start_epoch(epoch, hint)
        given = iterator
        if ctx is not None and ctx.probe is not None:
            iterator = _ProbeIterator(iterator, ctx.probe)
        clipping = split_clipping(sparsity) if sparsity is not None else contextlib.nullcontext([])
        with clipping as logit_norms:
            result = super().train_one_epoch(
                model=model,
                iterator=iterator,
                optimizers=optimizers,
                schedulers=schedulers,
                scaler=scaler,
                reporter=reporter,
                summary_writer=summary_writer,
                options=options,
                distributed_option=distributed_option,
            )
        if sparsity is not None:
            phase_before = sparsity._s["phase_index"]
            record = sparsity.end_epoch(epoch)
            stats = sparsity.epoch_stats(record)
            if logit_norms:
                stats["sparsity_logit_grad_norm"] = mean_norm(logit_norms)
            reporter.register(stats)
            reporter.next()
            events = sparsity.pop_events()
            if ctx is not None and ctx.rank0:
                cls._write_epoch(ctx, sparsity, record, events)
                if ctx.probe is not None and sparsity._s["phase_index"] != phase_before:
                    ctx.probe.measure(model, ctx.step or 0, epoch, sparsity.phase, tag="after_transition")
        cls.after_train_epoch(given, reporter, options, distributed_option)
        return result

    @classmethod
    def validate_one_epoch(cls, model, iterator, reporter, options, distributed_option) -> None:
        """ESPnet's validation loop, then :meth:`after_valid_epoch`."""
        super().validate_one_epoch(
            model=model, iterator=iterator, reporter=reporter, options=options, distributed_option=distributed_option
        )
        cls.after_valid_epoch(iterator, reporter, options, distributed_option)

    @classmethod
    def after_train_epoch(cls, iterator, reporter, options, distributed_option) -> None:
        """Extra work after each training epoch (subclasses; ``iterator`` as ESPnet gave it)."""

    @classmethod
    def after_valid_epoch(cls, iterator, reporter, options, distributed_option) -> None:
        """Extra work after each validation epoch (subclasses)."""

    @staticmethod
    def _truncate_files(ctx: _RunContext, epoch: int) -> None:
        """Drop what an interrupted run wrote after the state we resumed from."""
        p = ctx.output_dir / "sparsity.jsonl"
        if p.exists():
            keep = []
            for line in p.read_text().splitlines():
                try:
                    if json.loads(line)["epoch"] < epoch:
                        keep.append(line)
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
            p.write_text("".join(k + "\n" for k in keep))
        e = ctx.output_dir / "sparsity_events.json"
        if e.exists():
            try:
                data = json.loads(e.read_text())
                data["events"] = [x for x in data.get("events", []) if x.get("epoch", 0) < epoch]
                e.write_text(json.dumps(data, indent=2) + "\n")
            except (json.JSONDecodeError, AttributeError):
                logger.warning("sparsity: %s is not valid JSON; it will be rewritten", e)
                e.unlink()
        if ctx.probe is not None:
            ctx.probe.truncate_after(ctx.step or 0)

    @staticmethod
    def _write_epoch(ctx: _RunContext, sparsity: AbsSparsity, record: Dict[str, Any], events) -> None:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        with (ctx.output_dir / "sparsity.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")
        path = ctx.output_dir / "sparsity_events.json"
        old: List[Dict[str, Any]] = []
        if path.exists():
            try:
                old = json.loads(path.read_text()).get("events", [])
            except (json.JSONDecodeError, AttributeError):
                old = []
        seen = {json.dumps(x, sort_keys=True) for x in old}
        for ev in events:
            key = json.dumps(ev, sort_keys=True)
            if key not in seen:
                old.append(ev)
                seen.add(key)
        data = sparsity.freeze_record()
        data["events"] = old
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)
