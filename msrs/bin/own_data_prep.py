"""Your own corpus -> Kaldi-style data dirs (stage 1 of egs/own_corpus).

    # a folder of videos, each with a sidecar .txt transcript
    python -m msrs.bin.own_data_prep --corpus /data/my_videos --out data
    # a table path,transcript[,speaker] (CSV; TSV for *.tsv)
    python -m msrs.bin.own_data_prep --table /data/my_videos/list.csv --out data \
        --case keep --punctuation remove --letters keep

writes data/{train,valid,test}/ (video.scp, wav.scp, text, utt2spk, spk2utt,
utt2dur, failures.txt), the files of the LRS3 preparation.  See
msrs/data/own_corpus.py, msrs/data/text_norm.py and egs/own_corpus/README.md.
"""

import argparse
import json
import logging
import sys
from typing import List, Optional

from msrs.data.cli import add_log_level, fail, setup_logging


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Prepare your own audio-visual corpus as Kaldi-style data directories",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--corpus", default=None, help="folder of videos with sidecar .txt transcripts")
    p.add_argument("--table", default=None, help="CSV/TSV path,transcript[,speaker] (instead of sidecars)")
    p.add_argument("--out", default="data", help="parent of the output data directories")
    g = p.add_argument_group("text normalisation (msrs/data/text_norm.py)")
    g.add_argument("--case", default="upper", choices=["upper", "lower", "keep"])
    g.add_argument("--punctuation", default="remove", choices=["remove", "keep"],
                   help="remove: punctuation and symbols become word breaks (inner apostrophes stay)")  # fmt: skip
    g.add_argument("--letters", default="keep", choices=["keep", "ascii"],
                   help="keep: letters of every script; ascii: LRS3's rule (accents folded, others dropped)")  # fmt: skip
    g = p.add_argument_group("sets")
    g.add_argument("--valid_fraction", type=float, default=0.1)
    g.add_argument("--test_fraction", type=float, default=0.1)
    g.add_argument("--split_by", default="clip", choices=["clip", "speaker"],
                   help="hold out clips, or whole speakers (speaker-disjoint sets)")  # fmt: skip
    g.add_argument("--train_set", default="train")
    g.add_argument("--valid_set", default="valid")
    g.add_argument("--test_set", default="test")
    p.add_argument("--nj", type=int, default=4, help="threads reading media headers")
    add_log_level(p)
    return p


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.own_corpus import TableError, prepare_own_corpus
    from msrs.data.text_norm import TextNorm

    if not args.corpus and not args.table:
        return fail("give --corpus DIR (videos with .txt sidecars) or --table FILE.csv")
    try:
        counts = prepare_own_corpus(
            args.corpus, args.out, args.table, TextNorm(args.case, args.punctuation, args.letters),
            args.valid_fraction, args.test_fraction, args.split_by,
            (args.train_set, args.valid_set, args.test_set), args.nj,
        )  # fmt: skip
    except (FileNotFoundError, TableError, ValueError, OSError) as e:
        return fail(str(e))
    logging.info("%s", json.dumps(counts))
    if counts["failed_clips"]:
        logging.warning("%d clip(s) skipped; reasons in %s/*/failures.txt", counts["failed_clips"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
