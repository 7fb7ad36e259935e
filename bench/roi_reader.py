"""ROI storage formats: size, reconstruction error and training-time read speed.

Extracts 96x96 mouth ROIs (stage 2, ``npy``) from a synthetic LRS3-layout
corpus, joins them into clips of ``--clip_frames`` frames (250 = 10 s) and
stores every clip as ``npy`` and as grey H.264 at each CRF of ``--crfs``
(``msrs.data.roi_video.encode_roi``; plus, with ``--legacy_crf``, the
limited-range yuv420p mp4 that ``video_io.encode_video`` wrote before).  Per
format it prints:

* **bytes/frame** on disk and the projected size of LRS3's video dumps
  (``--lrs3_frames``, 39.4 M frames = 438 h at 25 fps);
* **reconstruction error** against the npy ROIs, in grey levels: mean
  absolute error, RMSE, PSNR (dB) and the 99.9th percentile of the absolute
  error, over all pixels;
* **read fps**: video frames per second of the training-time path on one
  core, i.e. the ``video`` data type's reader
  (``msrs.tasks.avsr_data.load_video``, float32 ``(T, 96, 96)``) followed by
  the training preprocessor (``AVSRPreprocessor`` in train mode: random 88x88
  crop, adaptive time mask), looping over the clips for ``--seconds``; for mp4
  also through the general reader ``video_io.read_video`` (frame threading +
  swscale), the path used before;
* **encode fps** of the writer (one thread, x264 preset medium).

The corpus is generated into a temporary directory (``--utts`` trainval
clips) unless ``--corpus`` names one.  The synthetic mouths are smoother than
real camera video, so the mp4 sizes are lower bounds for LRS3 (see
docs/data.md, "ROI storage").  Nothing is asserted; numbers are printed (and
written as JSON with ``--json``).  Pin it to one core for per-core figures::

    taskset -c 0 python bench/roi_reader.py
    taskset -c 0 python bench/roi_reader.py --crfs 0,16,20,23,28 --seconds 4
    taskset -c 0 python bench/roi_reader.py --probe      # npy vs mp4, word probe

``--probe`` instead answers whether the lossy store loses what the mouth
says: the linear (ridge) word classifier of ``bench/roi_throughput.py
--probe`` (ROI frames of each word, train speakers -> unseen test speakers,
per GRID slot) on the npy ROIs and on the same ROIs stored as mp4.  It is a
cheap proxy, not the WER of a trained model.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


def extract_rois(corpus: Path, tmp: Path, utts: int) -> list:
    """ROIs (uint8 ``(T, 96, 96)``) of the corpus' trainval clips via stage 2."""
    from msrs.data.datadir import read_kv
    from msrs.data.extract import ExtractConfig, merge, run_job
    from msrs.data.lrs3_prep import prepare_lrs3
    from msrs.data.roi import RoiConfig
    from msrs.data.synth.corpus import CorpusConfig, generate_corpus

    if not corpus.is_dir():
        n_spk = max(1, utts // 12)
        cfg = CorpusConfig(
            num_train_speakers=n_spk,
            num_test_speakers=1,
            test_per_speaker=1,
            trainval_per_speaker=max(1, utts // n_spk),
            pretrain_per_speaker=0,
            babble_seconds=0,
        )
        generate_corpus(corpus, cfg, nj=1, progress=False)
    prepare_lrs3(
        corpus, tmp / "data", splits=("trainval",), valid_fraction=0.0,
        progress=False, nj=1,
    )
    out = tmp / "dump"
    cfg = ExtractConfig(roi=RoiConfig(detect_every=3))
    run_job(tmp / "data" / "train", out, 1, 1, cfg, progress=False)
    merge(tmp / "data" / "train", out, 1)
    return [np.load(p) for p in read_kv(out / "video.scp").values()]


def probe_formats(corpus: Path, tmp: Path, crf: int) -> dict:
    """Linear lip-reading probe (bench/roi_throughput.py) on npy vs mp4 ROIs.

    Extracts the corpus' trainval (train speakers) and test (unseen speakers)
    ROIs as npy, re-encodes every ROI with ``encode_roi`` at ``crf`` and
    scores the same ridge word classifier on both stores.
    """
    from msrs.data.datadir import read_kv, write_kv
    from msrs.data.extract import ExtractConfig, merge, run_job
    from msrs.data.lrs3_prep import prepare_lrs3
    from msrs.data.roi import RoiConfig
    from msrs.data.roi_video import encode_roi
    from msrs.data.synth.corpus import CorpusConfig, generate_corpus
    from roi_throughput import _probe

    if not corpus.is_dir():
        generate_corpus(corpus, CorpusConfig(babble_seconds=0), nj=1, progress=False)
    data = tmp / "probe_data"
    prepare_lrs3(corpus, data, splits=("trainval", "test"), valid_fraction=0.0,
                 progress=False, nj=1)
    dumps = {"npy": {}, "mp4": {}}
    for name in ("train", "test"):
        out = tmp / f"probe_{name}"
        run_job(data / name, out, 1, 1, ExtractConfig(roi=RoiConfig(detect_every=3)),
                progress=False)
        merge(data / name, out, 1)
        mp4 = tmp / f"probe_{name}_mp4"
        scp = {}
        for utt, path in read_kv(out / "video.scp").items():
            scp[utt] = str(mp4 / f"{utt}.mp4")
            encode_roi(scp[utt], np.load(path), crf=crf)
        write_kv(mp4 / "video.scp", scp)
        dumps["npy"][name], dumps["mp4"][name] = out, mp4
    return {fmt: _probe(data, d) for fmt, d in dumps.items()}


def make_clips(rois: list, clip_frames: int) -> list:
    """Concatenate ROIs and cut them into clips of ``clip_frames`` frames."""
    frames = np.concatenate(rois)
    n = max(1, len(frames) // clip_frames)
    return [frames[i * clip_frames : (i + 1) * clip_frames] for i in range(n)]


def read_speed(paths: list, reader, seconds: float) -> float:
    """Frames/s of ``reader(path)`` + the training preprocessor, looped."""
    from msrs.tasks.avsr_preprocessor import AVSRPreprocessor

    pre = AVSRPreprocessor(train=True, modality="vsr")
    np.random.seed(0)
    frames, t0, i = 0, time.perf_counter(), 0
    while True:
        video = reader(paths[i % len(paths)])
        out = pre(f"u{i}", {"video": video})["video"]
        frames += out.shape[0]
        i += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and i >= len(paths):
            return frames / elapsed


def errors(ref: np.ndarray, got: np.ndarray) -> dict:
    """Reconstruction error of ``got`` against ``ref`` (grey levels, dB)."""
    if ref.shape != got.shape:
        raise RuntimeError(f"decoded shape {got.shape} != stored {ref.shape}")
    d = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    mse = float(np.mean(d**2))
    return {
        "mae": float(d.mean()),
        "rmse": mse**0.5,
        "psnr_db": float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse),
        "p999_abs": float(np.percentile(d, 99.9)),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default=None, help="synthetic corpus (default: new)")
    p.add_argument("--utts", type=int, default=24, help="clips of a new corpus")
    p.add_argument("--crfs", default="0,16,20,23,28", help="x264 CRFs to store")
    p.add_argument("--legacy_crf", type=int, default=20,
                   help="also store yuv420p mp4 (video_io.encode_video) at this "
                   "CRF; -1: skip")
    p.add_argument("--clip_frames", type=int, default=250)
    p.add_argument("--seconds", type=float, default=3.0, help="per read timing")
    p.add_argument("--lrs3_frames", type=float, default=39.4e6)
    p.add_argument("--probe", action="store_true",
                   help="only the linear lip-reading probe, npy vs mp4 at --probe_crf "
                   "(a mini corpus is generated unless --corpus)")
    p.add_argument("--probe_crf", type=int, default=None, help="default: DEFAULT_ROI_CRF")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.probe:
        from msrs.data.roi_video import DEFAULT_ROI_CRF

        crf = DEFAULT_ROI_CRF if args.probe_crf is None else args.probe_crf
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(args.corpus) if args.corpus else Path(tmp) / "corpus"
            res = probe_formats(corpus, Path(tmp), crf)
        print(f"linear lip-reading probe, unseen test speakers: npy vs mp4 CRF {crf}")
        for slot in res["npy"]:
            a, b = res["npy"][slot], res["mp4"][slot]
            print(f"  {slot:<12} {a['classes']:>3} words  test {a['test']:>4}  "
                  f"npy {a['accuracy']:.3f}  mp4 {b['accuracy']:.3f}  (chance {a['chance']:.2f})")
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return 0

    import cv2

    cv2.setNumThreads(1)
    from msrs.data import roi_video, video_io
    from msrs.tasks.avsr_data import load_video

    def old_reader(path):
        return video_io.read_video(path, gray=True).astype(np.float32)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = Path(args.corpus) if args.corpus else tmp / "corpus"
        clips = make_clips(extract_rois(corpus, tmp, args.utts), args.clip_frames)
        n_frames = sum(len(c) for c in clips)
        print(f"{len(clips)} clips of {args.clip_frames} frames from stage-2 ROIs")
        formats = [("npy", None)] + [("mp4", int(c)) for c in args.crfs.split(",")]
        if args.legacy_crf >= 0:
            formats.append(("mp4-yuv420p", args.legacy_crf))
        for fmt, crf in formats:
            d = tmp / f"{fmt}{crf}"
            d.mkdir()
            paths = [d / f"{i}.{'npy' if fmt == 'npy' else 'mp4'}"
                     for i in range(len(clips))]
            t0 = time.perf_counter()
            for path, clip in zip(paths, clips):
                if fmt == "npy":
                    np.save(path, clip)
                elif fmt == "mp4":
                    roi_video.encode_roi(path, clip, crf=crf)
                else:
                    video_io.encode_video(path, clip, crf=crf, threads=1)
            enc_fps = n_frames / (time.perf_counter() - t0)
            size = sum(os.path.getsize(x) for x in paths)
            decoded = [load_video(x).astype(np.uint8) for x in paths]
            err = errors(np.concatenate(clips), np.concatenate(decoded))
            row = {
                "format": fmt, "crf": crf,
                "bytes_per_frame": size / n_frames,
                "lrs3_gb": size / n_frames * args.lrs3_frames / 1e9,
                **err,
                "read_fps": read_speed(paths, load_video, args.seconds),
                "encode_fps": enc_fps,
            }
            if fmt != "npy":
                row["read_video_fps"] = read_speed(paths, old_reader, args.seconds)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"{'format':<12} {'crf':>4} {'B/frame':>8} {'LRS3 GB':>8} {'MAE':>6} "
          f"{'RMSE':>6} {'PSNR':>6} {'p99.9':>6} {'read fps':>9} "
          f"{'read_video':>10} {'enc fps':>8}")
    for r in rows:
        print(f"{r['format']:<12} {str(r['crf'] if r['crf'] is not None else '-'):>4} "
              f"{r['bytes_per_frame']:>8.0f} {r['lrs3_gb']:>8.1f} {r['mae']:>6.2f} "
              f"{r['rmse']:>6.2f} {r['psnr_db']:>6.1f} {r['p999_abs']:>6.1f} "
              f"{r['read_fps']:>9.0f} "
              f"{r.get('read_video_fps', float('nan')):>10.0f} {r['encode_fps']:>8.0f}")
    print("read fps: load_video + AVSRPreprocessor(train) per frame on one core; "
          "read_video: the same with video_io.read_video; errors in grey levels "
          "vs npy; LRS3 GB: bytes/frame x --lrs3_frames (video only).")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
