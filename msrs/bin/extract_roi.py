"""Mouth-ROI and 16 kHz audio dumps from a Kaldi-style data directory.

Modes::

    # one shard, e.g. under utils/run.pl JOB=1:N log/extract_roi.JOB.log ...
    python -m msrs.bin.extract_roi --data data/train --out dump/raw/train \
        --job JOB --num_jobs N
    # join the shards (the number of jobs is found in --out unless given)
    python -m msrs.bin.extract_roi --data data/train --out dump/raw/train --merge
    # everything with a local process pool
    python -m msrs.bin.extract_roi --data data/train --out dump/raw/train --nj 4

Finished utterances are skipped on rerun; failures go to failures.txt with
their reason.  See msrs/data/extract.py and docs/data.md.
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from msrs.data.cli import add_log_level, csv_tuple, fail, setup_logging, str2bool
from msrs.data.roi_video import DEFAULT_ROI_CRF


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Extract 96x96 mouth ROIs and 16 kHz audio (msrs stage 2)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--data",
        required=True,
        help="input data dir (video.scp, wav.scp, text, utt2spk, [segments])",
    )
    p.add_argument("--out", required=True, help="output dump dir")
    g = p.add_argument_group("jobs")
    g.add_argument(
        "--job", type=int, default=None, help="shard to run (1-based); with --num_jobs"
    )
    g.add_argument("--num_jobs", type=int, default=None, help="number of shards")
    g.add_argument("--merge", action="store_true", help="only merge finished shards")
    g.add_argument(
        "--nj",
        type=int,
        default=1,
        help="local processes when neither --job nor --merge is given",
    )
    g = p.add_argument_group("ROI")
    g.add_argument(
        "--detector",
        default="mediapipe",
        choices=["mediapipe", "none"],
        help="face detector; 'none' for already-aligned mouth videos "
        "(centre crop + resize)",
    )
    g.add_argument(
        "--face_models",
        type=csv_tuple,
        default=("short", "full"),
        help="MediaPipe models tried in order (short, full)",
    )
    g.add_argument(
        "--min_confidence", type=float, default=0.5, help="detection threshold"
    )
    g.add_argument(
        "--detect_every",
        type=int,
        default=1,
        help="detect on every k-th frame, interpolate in between",
    )
    g.add_argument(
        "--detect_max_side",
        type=int,
        default=0,
        help="downscale frames to this longer side before detection (0: never)",
    )
    g.add_argument(
        "--smooth_margin",
        type=int,
        default=6,
        help="keypoint smoothing half-window (frames)",
    )
    g.add_argument(
        "--recenter",
        type=str2bool,
        default=True,
        help="keep the per-frame keypoint centroid after smoothing",
    )
    g.add_argument("--crop_size", type=int, default=96, help="ROI side (pixels)")
    g.add_argument(
        "--crop_scale",
        type=float,
        default=1.0,
        help="zoom relative to the reference face",
    )
    g.add_argument(
        "--landmarks_dir",
        default=None,
        help="precomputed landmarks (<dir>/<split>/<spk>/<clip>.pkl, Auto-AVSR layout)",
    )
    g.add_argument(
        "--max_missing_landmarks",
        type=float,
        default=0.05,
        help="with --landmarks_dir: stop before extracting when more than this "
        "share of a job's recordings has no landmark file (the others fall back "
        "to the detector and are listed in landmark_fallbacks.txt)",
    )
    g.add_argument(
        "--no_face_fallback",
        default="none",
        choices=["none", "centre_crop"],
        help="utterances with no face in any frame: fail (none) or get a centre crop "
        "with a warning (centre_crop; listed in no_face_fallbacks.txt); avsr.sh uses "
        "centre_crop for test sets, which are always scored whole",
    )
    g.add_argument(
        "--resample_fps",
        type=str2bool,
        default=False,
        help="resample videos that are not 25 fps to 25 fps (nearest earlier "
        "frame; noted in the log) instead of failing them",
    )
    g = p.add_argument_group("output")
    g.add_argument(
        "--roi_format", default="npy", choices=["npy", "mp4"], help="ROI container"
    )
    g.add_argument(
        "--roi_crf",
        type=int,
        default=DEFAULT_ROI_CRF,
        help="x264 CRF of --roi_format mp4 (0: lossless; the default is "
        "x264's, as Auto-AVSR; sizes and errors: docs/data.md 'ROI storage')",
    )
    g.add_argument(
        "--min_frames", type=int, default=5, help="shorter utterances fail as too short"
    )
    g.add_argument(
        "--progress", type=str2bool, default=True, help="show a progress bar"
    )
    add_log_level(p)
    return p


def _complete_job_sets(out: Path) -> List[int]:
    """Numbers of jobs N for which all of ``out/jobs/N.1..N`` finished, newest first."""
    found = {}
    for d in (out / "jobs").glob("*.*"):
        try:
            n, j = (int(x) for x in d.name.split("."))
        except ValueError:
            continue
        if (d / "done").is_file():
            found.setdefault(n, []).append((j, (d / "done").stat().st_mtime))
    complete = [
        (max(t for _, t in v), n)
        for n, v in found.items()
        if sorted(j for j, _ in v) == list(range(1, n + 1))
    ]
    return [n for _, n in sorted(complete, reverse=True)]


def build_config(args: argparse.Namespace):
    """The :class:`msrs.data.extract.ExtractConfig` of parsed options."""
    from msrs.data.extract import ExtractConfig
    from msrs.data.roi import RoiConfig

    return ExtractConfig(
        roi=RoiConfig(
            detector=args.detector,
            face_models=tuple(args.face_models),
            min_confidence=args.min_confidence,
            detect_every=args.detect_every,
            detect_max_side=args.detect_max_side,
            smooth_margin=args.smooth_margin,
            recenter=args.recenter,
            crop_size=args.crop_size,
            crop_scale=args.crop_scale,
        ),
        roi_format=args.roi_format,
        roi_crf=args.roi_crf,
        min_frames=args.min_frames,
        landmarks_dir=args.landmarks_dir,
        max_missing_landmarks=args.max_missing_landmarks,
        no_face_fallback=args.no_face_fallback,
        resample_fps=args.resample_fps,
    )


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    from msrs.data.datadir import DataDirError
    from msrs.data.extract import extract, merge, run_job

    try:
        config = build_config(args)
        if args.landmarks_dir and not Path(args.landmarks_dir).is_dir():
            return fail(f"--landmarks_dir {args.landmarks_dir}: directory not found")
        if args.merge:
            num_jobs = args.num_jobs
            if num_jobs is None:
                sets = _complete_job_sets(Path(args.out))
                if not sets:
                    return fail(
                        "--merge: no complete set of finished jobs under "
                        f"{args.out}/jobs; "
                        "run the jobs first"
                    )
                num_jobs = sets[0]
            result = merge(args.data, args.out, num_jobs)  # format from the jobs
        elif args.job is not None:
            if args.num_jobs is None:
                return fail("--job needs --num_jobs")
            result = run_job(
                args.data, args.out, args.job, args.num_jobs, config, args.progress
            )
        else:
            result = extract(args.data, args.out, config, args.nj, args.progress)
            result.pop("jobs", None)
    except (DataDirError, ValueError, FileNotFoundError, RuntimeError) as e:
        return fail(str(e))
    logging.info("%s", json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
