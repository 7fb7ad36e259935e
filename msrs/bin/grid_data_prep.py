"""GRID corpus -> Kaldi-style data dirs (stage 1 of egs/grid).

    python -m msrs.bin.grid_data_prep --grid /data/GRID --out data --split unseen
    python -m msrs.bin.grid_data_prep --grid /data/GRID --out data --split overlapped \
        [--test_per_speaker 255] [--valid_per_speaker 10]

writes data/{train,valid,test}/ (video.scp, wav.scp, text, utt2spk, spk2utt,
utt2dur, failures.txt).  See msrs/data/grid_prep.py and egs/grid/README.md.
"""

import argparse
import json
import logging
import sys
from typing import List, Optional

from msrs.data.cli import add_log_level, csv_tuple, fail, setup_logging, str2bool


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Prepare a local GRID copy as Kaldi-style data directories",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--grid", required=True, help="GRID root: s<N>/<id>.mpg videos and <id>.align alignments")
    p.add_argument("--out", default="data", help="parent of the output data directories")
    p.add_argument("--split", default="unseen", choices=["unseen", "overlapped"],
                   help="unseen: --test_speakers held out; overlapped: --test_per_speaker "
                   "sentences of every speaker held out")  # fmt: skip
    p.add_argument("--test_speakers", type=csv_tuple, default=("s1", "s2", "s20", "s22"),
                   help="--split unseen: the test speakers (LipNet's)")  # fmt: skip
    p.add_argument("--test_per_speaker", type=int, default=255,
                   help="--split overlapped: test sentences per speaker (LipNet: 255)")  # fmt: skip
    p.add_argument("--valid_per_speaker", type=int, default=10,
                   help="validation sentences per training speaker (our choice)")  # fmt: skip
    p.add_argument("--text_source", default="align", choices=["align", "filename"],
                   help="align: the .align words, checked against the file name; "
                   "filename: the sentence the file name encodes (no alignments needed)")  # fmt: skip
    p.add_argument("--train_set", default="train")
    p.add_argument("--valid_set", default="valid")
    p.add_argument("--test_set", default="test")
    p.add_argument("--nj", type=int, default=4, help="threads reading alignments and media headers")
    p.add_argument("--progress", type=str2bool, default=True)
    add_log_level(p)
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.grid_prep import prepare_grid

    try:
        counts = prepare_grid(
            args.grid, args.out, args.split, args.test_per_speaker, args.valid_per_speaker,
            args.text_source, args.test_speakers,
            (args.train_set, args.valid_set, args.test_set), args.nj, args.progress,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        return fail(str(e))
    logging.info("%s", json.dumps(counts))
    if counts["failed_clips"]:
        logging.warning(
            "%d clip(s) skipped; reasons in %s/*/failures.txt", counts["failed_clips"], args.out
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
