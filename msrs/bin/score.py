#!/usr/bin/env python3
"""Score recognition output: WER and CER with sclite-like reports.

Examples:
    python -m msrs.bin.score --ref data/test/text \\
        --hyp exp/avsr/decode_beam40_test/1best_recog/text \\
        --out exp/avsr/decode_beam40_test --name avsr/test

Writes ``result.wrd.txt`` + ``result.chr.txt`` (``--token both``, default) or
``result.txt`` (``--token word|char``), ``scores.json`` (with the WER's
bootstrap confidence interval, ``wer_ci``) and ``utt_errors.tsv`` (word errors
per utterance).  See docs/scoring_and_reports.md.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from msrs.scoring.scorer import TOKEN_CHOICES, score
from msrs.scoring.text_io import ScoringError


def get_parser() -> argparse.ArgumentParser:
    """Command-line parser of ``msrs.bin.score``."""
    parser = argparse.ArgumentParser(
        description="WER/CER scoring with sclite-like result.txt and scores.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--ref", required=True, help="reference Kaldi text file")
    parser.add_argument("--hyp", required=True, help="hypothesis Kaldi text file")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--token",
        default="both",
        choices=TOKEN_CHOICES,
        help="both: result.wrd.txt + result.chr.txt; word/char: result.txt",
    )
    parser.add_argument("--name", default=None, help="system label (default: --hyp)")
    parser.add_argument(
        "--utt2spk",
        default="auto",
        help="utt2spk for per-speaker rows; 'auto': <dir of --ref>/utt2spk if it "
        "exists; 'none': no speaker rows",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="resamples of the WER's bootstrap confidence interval (0: none)",
    )
    parser.add_argument(
        "--ci_level", type=float, default=0.95, help="coverage of that interval"
    )
    parser.add_argument("--seed", type=int, default=0, help="resampling seed")
    parser.add_argument(
        "--log_level",
        default="INFO",
        choices=("ERROR", "WARNING", "INFO", "DEBUG"),
    )
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    """Run the scorer; returns the process exit status."""
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    utt2spk: Optional[Path]
    if args.utt2spk == "auto":
        cand = Path(args.ref).parent / "utt2spk"
        utt2spk = cand if cand.is_file() else None
    elif args.utt2spk.lower() == "none":
        utt2spk = None
    else:
        utt2spk = Path(args.utt2spk)
    try:
        s = score(
            args.ref,
            args.hyp,
            args.out,
            args.token,
            args.name,
            utt2spk,
            n_resamples=args.bootstrap,
            ci_level=args.ci_level,
            seed=args.seed,
        )
    except (ScoringError, ValueError) as e:
        logging.error("%s", e)
        return 1
    w, c = s["word"], s["char"]
    logging.log(logging.WARNING if s["n_missing"] else logging.INFO, "%s: %s", s["name"], s["scored"])
    ci = s.get("wer_ci")
    ci_text = (
        f" [{ci['lo']:.2f}, {ci['hi']:.2f}] ({100 * ci['level']:g}% CI)" if ci else ""
    )
    logging.info(
        "%s: WER %.2f%%%s (%d/%d words), CER %.2f%% (%d/%d chars), %d utts -> %s",
        s["name"],
        s["wer"],
        ci_text,
        w["err"],
        w["n_ref"],
        s["cer"],
        c["err"],
        c["n_ref"],
        s["n_utts"],
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
