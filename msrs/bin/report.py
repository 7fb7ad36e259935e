#!/usr/bin/env python3
"""Write RESULTS.md and PNG plots from a recipe's ``exp`` directory.

Examples:
    python -m msrs.bin.report --exp_dir exp --out RESULTS.md --plots_dir exp/plots

Reads training directories (``config.yaml``, ``checkpoint.pth`` or
``train.log``, ``sparsity.jsonl``, ``grad_flow.jsonl``,
``sparsity_events.json``) and every ``scores.json`` written by
``msrs.bin.score``.  Missing inputs skip the corresponding plot with a note.
See docs/scoring_and_reports.md for the naming conventions parsed.
"""

import argparse
import logging
import sys
from typing import List, Optional


def get_parser() -> argparse.ArgumentParser:
    """Command-line parser of ``msrs.bin.report``."""
    parser = argparse.ArgumentParser(
        description="RESULTS.md + PNG plots from an exp directory",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--exp_dir", default="exp", help="recipe exp directory")
    parser.add_argument("--out", default="RESULTS.md", help="markdown file to write")
    parser.add_argument(
        "--plots_dir", default=None, help="PNG directory (default: <exp_dir>/plots)"
    )
    parser.add_argument(
        "--log_level", default="INFO", choices=("ERROR", "WARNING", "INFO", "DEBUG")
    )
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    """Run the tool; returns the process exit status."""
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    from msrs.report.results_md import write_report

    try:
        write_report(args.exp_dir, args.out, args.plots_dir)
    except FileNotFoundError as e:
        logging.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
