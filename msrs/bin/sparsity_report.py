"""Per-layer sparsity table of a checkpoint.

Prints name, shape, mode, density and number of zeros for every masked weight
(and every plain float tensor with at least 2 dimensions), then the global
density of the masked weights.  Accepts a model file (``*epoch.pth``,
``valid.acc.ave.pth``), an ESPnet ``checkpoint.pth``, a squashed state dict
or a compressed file written by ``msrs.bin.squash --compress``.

Examples:
    python -m msrs.bin.sparsity_report exp/asr_msrs/valid.acc.ave.pth
    python -m msrs.bin.sparsity_report exp/asr_msrs/checkpoint.pth --json report.json
"""

import argparse
import dataclasses
import json
import sys
from typing import Optional, Sequence


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m msrs.bin.sparsity_report", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", help="model file, checkpoint.pth or squashed file")
    parser.add_argument("--all", action="store_true", help="also list 1-d tensors (biases, norms)")
    parser.add_argument("--json", default=None, help="also write the table as JSON to this file")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    from msrs.sparse.averaging import fix_averaged_state_dict
    from msrs.sparse.report import format_table, global_density, sparsity_table
    from msrs.sparse.squash import load_state_dict_file

    try:
        state = load_state_dict_file(args.checkpoint)
    except ValueError as e:
        print(f"sparsity_report: {e}", file=sys.stderr)
        return 1
    fix_averaged_state_dict(state)
    rows = sparsity_table(state, all_tensors=args.all)
    if not rows:
        print(f"sparsity_report: {args.checkpoint}: no weight tensors found", file=sys.stderr)
        return 1
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"global_density": global_density(rows),
                       "layers": [dataclasses.asdict(r) for r in rows]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
