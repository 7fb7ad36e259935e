"""Trainer of the AVSR task: ``MsrsTrainer`` plus skipped-utterance reporting
and crash-safe checkpoints (:mod:`msrs.tasks.checkpoint_io`)."""

import logging
from pathlib import Path

import torch
from espnet2.train.reporter import SubReporter

from msrs.sparse.trainer import MsrsTrainer
from msrs.tasks.avsr_data import SkipFilteringIterator
from msrs.tasks.checkpoint_io import (
    crash_safe_saving,
    prune_state_files,
    repair_resume_checkpoint,
)
from msrs.utils.dir_lock import DirLock

logger = logging.getLogger(__name__)

SKIPPED_FILE = "skipped_utts.txt"


class AVSRTrainer(MsrsTrainer):
    """``MsrsTrainer`` (sparsity phases, gradient flow, mask-safe averaging)
    that also reports utterances skipped by the fault-tolerant data loader.

    After each training and validation epoch the number of skipped
    utterances (summed over DDP ranks) is registered as ``skipped_utts`` in
    ESPnet's reporter, so it appears in the epoch log line, ``images/`` and
    tensorboard, and ``<output_dir>/skipped_utts.txt`` (rank 0; other ranks
    ``skipped_utts.rank<N>.txt``) gets one ``<epoch> <phase> <utt_id>
    <reason>`` line per skipped utterance.

    Checkpoints are crash-safe: ``checkpoint.pth`` and ``<N>epoch.pth`` are
    written atomically, a corrupt ``checkpoint.pth`` falls back to the newest
    intact epoch file on resume, and model averaging skips unreadable epoch
    files (see :mod:`msrs.tasks.checkpoint_io`).  Rank 0 holds
    ``<output_dir>/.trainer.lock`` while training: a second trainer on the
    same directory stops at once with ``DirLockedError`` naming the first.
    """

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
        """``MsrsTrainer.run`` with atomic saves, resume fallback and safe averaging."""
        rank0 = not distributed_option.distributed or distributed_option.dist_rank == 0
        output_dir = Path(trainer_options.output_dir)
        # A second trainer on the same directory stops at once, naming the first.
        lock = DirLock(output_dir, ".trainer.lock", "training").acquire() if rank0 else None
        try:
            if trainer_options.resume and rank0:
                repair_resume_checkpoint(output_dir, optimizers)
            if trainer_options.resume and distributed_option.distributed:
                torch.distributed.barrier()
            cls._run_crash_safe(
                model=model,
                optimizers=optimizers,
                schedulers=schedulers,
                train_iter_factory=train_iter_factory,
                valid_iter_factory=valid_iter_factory,
                plot_attention_iter_factory=plot_attention_iter_factory,
                trainer_options=trainer_options,
                distributed_option=distributed_option,
            )
            if rank0:
                prune_state_files(output_dir)
        finally:
            if lock is not None:
                lock.release()

    @classmethod
    def _run_crash_safe(cls, **kwargs) -> None:
        """``MsrsTrainer.run`` with ESPnet's saves atomic and its averaging safe."""
        with crash_safe_saving():
            super().run(**kwargs)

    @classmethod
    def _report_skipped(
        cls, iterator, reporter: SubReporter, options, distributed_option, phase: str
    ) -> None:
        skipped = (
            iterator.skipped if isinstance(iterator, SkipFilteringIterator) else []
        )
        count = torch.tensor(float(len(skipped)))
        if distributed_option.distributed:
            device = "cuda" if options.ngpu > 0 else "cpu"
            count = count.to(device)
            torch.distributed.all_reduce(count)
        reporter.register({"skipped_utts": float(count.item())})
        reporter.next()
        if not skipped or options.output_dir is None:
            return
        rank = distributed_option.dist_rank if distributed_option.distributed else 0
        name = SKIPPED_FILE if not rank else f"skipped_utts.rank{rank}.txt"
        path = Path(options.output_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            for uid, reason in skipped:
                f.write(f"{reporter.get_epoch()} {phase} {uid} {reason}\n")

    @classmethod
    def after_train_epoch(cls, iterator, reporter, options, distributed_option) -> None:
        """After ESPnet's training epoch: the skipped-utterance report."""
        cls._report_skipped(iterator, reporter, options, distributed_option, "train")

    @classmethod
    def after_valid_epoch(cls, iterator, reporter, options, distributed_option) -> None:
        """After ESPnet's validation epoch: the skipped-utterance report."""
        cls._report_skipped(iterator, reporter, options, distributed_option, "valid")
