"""LRS3 (or the synthetic LRS3-layout corpus) -> Kaldi-style data dirs (msrs stage 1).

    python -m msrs.bin.lrs3_data_prep --lrs3 /data/LRS3 --out data \
        [--valid_list lrs3-valid.id] [--max_duration 16]

writes data/{train,valid,test}/ (video.scp, wav.scp, [segments], text, utt2spk,
spk2utt, utt2dur, failures.txt).  See msrs/data/lrs3_prep.py and docs/data.md.
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from msrs.data.cli import add_log_level, csv_tuple, fail, setup_logging, str2bool


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Prepare LRS3-layout corpora as Kaldi-style data directories",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--lrs3", required=True, help="corpus root with pretrain/ trainval/ test/"
    )
    p.add_argument(
        "--out", default="data", help="parent of the output data directories"
    )
    p.add_argument(
        "--valid_list",
        default=None,
        help="validation ids (AV-HuBERT lrs3-valid.id: trainval/<spk>/<clip> "
        "per line); default: chosen by --valid_mode",
    )
    p.add_argument(
        "--valid_mode",
        default="clips",
        choices=["clips", "speakers"],
        help="without --valid_list: 'clips' = AV-HuBERT's rule (a uniform sample "
        "of trainval clips, only they leave train); 'speakers' = whole trainval "
        "speakers, whose pretrain clips also leave train",
    )
    p.add_argument(
        "--valid_fraction",
        type=float,
        default=0.05,
        help="share of trainval clips (clips) or utterances (speakers) in the "
        "automatic validation set",
    )
    p.add_argument(
        "--valid_max_utts",
        type=int,
        default=1200,
        help="cap of the automatic validation set",
    )
    p.add_argument(
        "--max_duration",
        type=float,
        default=16.0,
        help="pretrain clips longer than this (s) are cut at word boundaries",
    )
    p.add_argument(
        "--seg_margin",
        type=float,
        default=0.2,
        help="seconds kept around the words of a segment",
    )
    p.add_argument(
        "--splits",
        type=csv_tuple,
        default=("pretrain", "trainval", "test"),
        help="LRS3 folders to read",
    )
    p.add_argument("--train_set", default="train")
    p.add_argument("--valid_set", default="valid")
    p.add_argument("--test_set", default="test")
    p.add_argument(
        "--nj",
        type=int,
        default=4,
        help="threads reading transcripts and media headers",
    )
    p.add_argument("--progress", type=str2bool, default=True)
    add_log_level(p)
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.lrs3_prep import prepare_lrs3

    if args.valid_list and not Path(args.valid_list).is_file():
        return fail(f"--valid_list {args.valid_list}: file not found")
    try:
        counts = prepare_lrs3(
            args.lrs3,
            args.out,
            args.valid_list,
            args.valid_fraction,
            args.valid_max_utts,
            args.max_duration,
            args.seg_margin,
            args.splits,
            (args.train_set, args.valid_set, args.test_set),
            args.nj,
            args.progress,
            args.valid_mode,
        )
    except (FileNotFoundError, ValueError) as e:
        return fail(str(e))
    logging.info("%s", json.dumps(counts))
    if counts["failed_clips"]:
        logging.warning(
            "%d clip(s) skipped; reasons in %s/*/failures.txt",
            counts["failed_clips"],
            args.out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
