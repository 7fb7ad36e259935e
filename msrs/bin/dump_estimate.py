"""Disk space stage 2 will need, printed before it starts.

::

    python -m msrs.bin.dump_estimate --dumpdir dump/raw \
        --roi_opts "--roi_format mp4 --roi_crf 23" data/train data/valid data/test

Frames come from each data dir's ``utt2dur`` (25 fps); bytes per frame from
:func:`msrs.data.roi_video.roi_bytes_per_frame` (``npy`` exact, ``mp4`` an
estimate, see docs/data.md "ROI storage") plus 1,280 bytes of 16 kHz PCM16
audio per frame.  Prints one line per set, the total and the free space of
the file system holding ``--dumpdir``, with a warning when the estimate does
not fit.  Exit status 0 unless an argument is wrong.
"""

import argparse
import logging
import shlex
import shutil
import sys
from pathlib import Path
from typing import List, Optional

from msrs.data.cli import add_log_level, fail, setup_logging

FPS = 25


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def estimate(data_dirs: List[str], roi_format: str, crf: int, crop: int) -> List[dict]:
    """Per data dir: utterances, frames, ROI and wav bytes (estimates)."""
    from msrs.data.datadir import read_kv
    from msrs.data.roi_video import (
        NPY_HEADER_BYTES,
        WAV_BYTES_PER_FRAME,
        roi_bytes_per_frame,
    )

    per_frame = roi_bytes_per_frame(roi_format, crf, crop, crop)
    rows = []
    for d in data_dirs:
        f = Path(d) / "utt2dur"
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing (durations are needed for the estimate)")
        try:
            durs = [float(v) for v in read_kv(f).values()]
        except ValueError as e:
            raise ValueError(f"{f}: a duration is not a number ({e})") from None
        frames = sum(round(x * FPS) for x in durs)
        header = NPY_HEADER_BYTES * len(durs) if roi_format == "npy" else 0
        rows.append(
            dict(
                data=str(d),
                utts=len(durs),
                frames=frames,
                roi_bytes=frames * per_frame + header,
                wav_bytes=frames * WAV_BYTES_PER_FRAME,
            )
        )
    return rows


def main(cmd: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="+", help="data directories to be extracted")
    p.add_argument("--dumpdir", required=True, help="where the dumps will go")
    p.add_argument("--roi_opts", default="", help="the msrs.bin.extract_roi options")
    add_log_level(p)
    args = p.parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.bin.extract_roi import get_parser as roi_parser

    roi_args, _ = roi_parser().parse_known_args(
        ["--data", "-", "--out", "-"] + shlex.split(args.roi_opts)
    )
    try:
        rows = estimate(
            args.data, roi_args.roi_format, roi_args.roi_crf, roi_args.crop_size
        )
    except (FileNotFoundError, ValueError) as e:
        return fail(str(e))
    fmt = roi_args.roi_format + (
        f" CRF {roi_args.roi_crf}" if roi_args.roi_format == "mp4" else ""
    )
    total = 0.0
    for r in rows:
        b = r["roi_bytes"] + r["wav_bytes"]
        total += b
        print(
            f"{r['data']}: {r['utts']} utterances, {r['frames']} frames "
            f"({r['frames'] / FPS / 3600:.1f} h): ROIs ~{r['roi_bytes'] / 1e9:.2f} GB "
            f"({fmt}), wav {r['wav_bytes'] / 1e9:.2f} GB"
        )
    free = shutil.disk_usage(_existing_parent(Path(args.dumpdir))).free
    print(
        f"stage 2 needs about {total / 1e9:.2f} GB under {args.dumpdir} "
        f"({free / 1e9:.1f} GB free); mp4 sizes are estimates (docs/data.md)"
    )
    if total > free:
        logging.warning(
            "the dumps (~%.1f GB) may not fit in the %.1f GB free under %s",
            total / 1e9, free / 1e9, args.dumpdir,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
