"""Subset a data/dump directory by length, hours, id pattern or empty text.

    python -m msrs.bin.subset_data --src dump/raw/train --dst dump/train \
        --min_frames 12 --max_frames 600
    python -m msrs.bin.subset_data --src dump/train --dst dump/train_4s --max_duration 4
    python -m msrs.bin.subset_data --src dump/train --dst dump/train_10h --hours 10

Hours subsets are nested for one seed (1 h within 10 h within 30 h).
"""

import argparse
import json
import logging
import sys
from typing import List, Optional

from msrs.data.cli import add_log_level, fail, setup_logging, str2bool


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Subset a Kaldi-style data or dump directory",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--src", "--data", dest="src", required=True, help="input directory")
    p.add_argument("--dst", "--out", dest="dst", required=True, help="output directory")
    p.add_argument(
        "--max_duration",
        type=float,
        default=None,
        help="keep utterances <= this many seconds",
    )
    p.add_argument(
        "--min_duration",
        type=float,
        default=None,
        help="keep utterances >= this many seconds",
    )
    p.add_argument(
        "--max_frames",
        type=int,
        default=None,
        help="keep utterances <= this many video frames (25 fps)",
    )
    p.add_argument(
        "--min_frames",
        type=int,
        default=None,
        help="keep utterances >= this many video frames",
    )
    p.add_argument(
        "--hours",
        type=float,
        default=None,
        help="seeded random subset of at most this many hours",
    )
    p.add_argument(
        "--utt_regex",
        default=None,
        help="keep utterance ids matching this regular expression",
    )
    p.add_argument(
        "--drop_empty_text",
        type=str2bool,
        default=True,
        help="drop utterances with empty text",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the hours subset order")
    add_log_level(p)
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.datadir import DataDir, DataDirError
    from msrs.data.subset import select, write_subset

    try:
        data = DataDir.load(args.src)
        max_d = args.max_duration
        if args.max_frames is not None:
            max_d = (
                min(max_d, args.max_frames / 25.0)
                if max_d is not None
                else args.max_frames / 25.0
            )
        min_d = args.min_duration
        if args.min_frames is not None:
            min_d = (
                max(min_d, args.min_frames / 25.0)
                if min_d is not None
                else args.min_frames / 25.0
            )
        utts = select(
            data, max_d, min_d, args.hours, args.utt_regex, args.seed, where=args.src
        )
        if args.drop_empty_text:
            utts = [u for u in utts if data.text[u].strip()]
        result = write_subset(args.src, args.dst, utts)
    except (DataDirError, ValueError) as e:
        return fail(str(e))
    result["from"] = len(data.text)
    logging.info("%s -> %s: %s", args.src, args.dst, json.dumps(result))
    if not utts:
        logging.warning("%s: the subset is empty", args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
