"""Export a masked checkpoint as a plain (or compressed sparse) state dict.

The output has the keys of the same architecture without masks (``x.weight``,
mask applied; no mask logits, mask buffers or sparsity state) and loads with
plain ``model.load_state_dict(torch.load(OUT))``.  With ``--compress`` tensors
with enough zeros are stored as a packed bitmap plus non-zero values (read it
back with ``msrs.sparse.squash.load_state_dict_file``); the sizes are printed.

Examples:
    python -m msrs.bin.squash exp/asr_msrs/valid.acc.ave.pth exp/asr_msrs/model.pth
    python -m msrs.bin.squash exp/asr_rigl/valid.acc.ave.pth model.sparse.pth --compress
"""

import argparse
import os
import sys
from typing import Optional, Sequence


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m msrs.bin.squash", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="masked model file or ESPnet checkpoint.pth")
    parser.add_argument("output", help="where to write the squashed state dict")
    parser.add_argument("--compress", action="store_true",
                        help="store sparse tensors as bitmap + values (smaller on disk)")
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    import torch

    from msrs.sparse.averaging import fix_averaged_state_dict
    from msrs.sparse.squash import compress_state_dict, load_state_dict_file, squash_state_dict

    try:
        state = load_state_dict_file(args.input)
    except ValueError as e:
        print(f"squash: {e}", file=sys.stderr)
        return 1
    fix_averaged_state_dict(state)
    plain = squash_state_dict(state)
    obj = compress_state_dict(plain) if args.compress else plain
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, args.output)
    print(f"squash: {args.input} ({os.path.getsize(args.input)} bytes) -> {args.output} "
          f"({os.path.getsize(args.output)} bytes, {len(plain)} tensors"
          f"{', compressed' if args.compress else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
