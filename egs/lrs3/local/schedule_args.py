#!/usr/bin/env python3
"""Print the scheduler options that make a config's warm-up + cosine span its epochs.

ESPnet's ``cosineannealingwarmuprestarts`` counts optimizer steps, while
Auto-AVSR's schedule is given in epochs (5 warm-up epochs, cosine over 75).
This counts the batches of one epoch with ESPnet's own batch sampler on the
stage-6 shape files, exactly as training will build them, divides by
``accum_grad`` and prints::

    --scheduler_conf first_cycle_steps=<max_epoch x updates> --scheduler_conf warmup_steps=<W x updates>

for ``msrs.bin.avsr_train`` (run.sh appends it to --train_args).  Prints
nothing when the config uses another scheduler.

    local/schedule_args.py --config conf/train_vsr_msrs.yaml \
        --shape_file exp/stats_vsr_unigram5000/train/video_shape \
        --shape_file exp/stats_vsr_unigram5000/train/text_shape.bpe \
        --world_size 4 [--warmup_epochs 5] [--train_args "--batch_bins 28000"]
"""

import argparse
import logging
import shlex
import sys


def _total_length(shape_file: str) -> int:
    """Sum of the first dimension over a shape file (frames of video_shape)."""
    total = 0
    with open(shape_file, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                total += int(parts[1].split(",")[0])
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="training config (YAML)")
    p.add_argument("--shape_file", action="append", required=True, help="training shape files (stage 6)")
    p.add_argument("--world_size", type=int, default=1, help="GPUs in all (ngpu x num_nodes)")
    p.add_argument("--warmup_epochs", type=float, default=5.0, help="warm-up length in epochs (Auto-AVSR: 5)")
    p.add_argument("--train_args", default="", help="the extra avsr_train options of the run (batch overrides)")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="schedule_args: %(message)s")

    from msrs.tasks.avsr import AVSRTask
    from espnet2.samplers.build_batch_sampler import build_batch_sampler

    args = AVSRTask.get_parser().parse_args(
        ["--config", a.config, "--output_dir", "unused"] + shlex.split(a.train_args)
    )
    world = max(1, a.world_size)
    frames = _total_length(a.shape_file[0])
    if args.batch_type in ("length", "numel", "folded") or args.batch_bins:
        logging.warning(
            "batch_bins %d is the global batch (ESPnet splits each batch over the %d GPU(s)): "
            "about %d bins per GPU per step, x accum_grad %d per update",
            args.batch_bins, world, args.batch_bins // world, args.accum_grad,
        )
    sampler = None
    if not args.num_iters_per_epoch:
        sampler = build_batch_sampler(
            type=args.batch_type,
            shape_files=a.shape_file,
            fold_lengths=args.fold_length,
            batch_size=args.batch_size,
            batch_bins=args.batch_bins,
            sort_in_batch=args.sort_in_batch,
            sort_batch=args.sort_batch,
            drop_last=args.drop_last_iter,
            min_batch_size=a.world_size if a.world_size > 1 else args.min_batch_size,
        )
        logging.warning(
            "%s: %d batches of %.0f frames per GPU on average (%s)",
            a.config, len(sampler), frames / len(sampler) / world, a.shape_file[0],
        )
    if (args.scheduler or "").lower() != "cosineannealingwarmuprestarts":
        logging.warning("%s: scheduler %s is not step-based cosine; nothing to set", a.config, args.scheduler)
        return
    n_batches = args.num_iters_per_epoch or len(sampler)
    updates = n_batches // max(1, args.accum_grad)
    if updates < 1:
        sys.exit(f"schedule_args: {n_batches} batches per epoch < accum_grad {args.accum_grad}")
    total = updates * args.max_epoch
    warmup = min(int(round(updates * a.warmup_epochs)), total - 1)
    logging.warning(
        "%s: %d batches/epoch, accum_grad %d -> %d updates/epoch; %d epochs = %d updates, warm-up %d",
        a.config, n_batches, args.accum_grad, updates, args.max_epoch, total, warmup,
    )
    print(f"--scheduler_conf first_cycle_steps={total} --scheduler_conf warmup_steps={warmup}")


if __name__ == "__main__":
    main()
