#!/usr/bin/env python3
"""Pack a trained model into one archive that inference loads by path.

Examples:
    python -m msrs.bin.pack --config exp/avsr/config.yaml \\
        --model exp/avsr/valid.acc.ave.pth --out exp/avsr/model.tar.gz

The archive holds the config (its token list, SentencePiece model and stats
files rewritten to archive-relative paths), those files, the checkpoint and a
``meta.yaml``; see :mod:`msrs.utils.model_archive` and
docs/scoring_and_reports.md.  ``msrs.utils.model_archive.unpack(archive)``
gives the paths back.
"""

import argparse
import logging
import sys
from typing import List, Optional

from msrs.utils.model_archive import ArchiveError, pack


def get_parser() -> argparse.ArgumentParser:
    """Command-line parser of ``msrs.bin.pack``."""
    parser = argparse.ArgumentParser(
        description="Pack config, token list, SentencePiece model, stats and checkpoint",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", required=True, help="training config.yaml")
    parser.add_argument(
        "--model", required=True, help="checkpoint, e.g. valid.acc.ave.pth"
    )
    parser.add_argument("--out", required=True, help="archive (.tar.gz, .tgz or .tar)")
    parser.add_argument("--lm_config", default=None, help="optional LM config.yaml")
    parser.add_argument("--lm_model", default=None, help="optional LM checkpoint")
    parser.add_argument(
        "--inference_config",
        default=None,
        help="decoding YAML of the recipe, kept as the archive's decoding settings",
    )
    parser.add_argument(
        "--roi_opts",
        default=None,
        help="the stage-2 msrs.bin.extract_roi options, kept for msrs.bin.transcribe",
    )
    parser.add_argument(
        "--compresslevel", type=int, default=6, choices=range(1, 10), metavar="{1..9}"
    )
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    """Run the tool; returns the process exit status."""
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    try:
        pack(
            args.config,
            args.model,
            args.out,
            lm_train_config=args.lm_config,
            lm_file=args.lm_model,
            compresslevel=args.compresslevel,
            inference_config=args.inference_config,
            roi_opts=args.roi_opts,
        )
    except ArchiveError as e:
        logging.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
