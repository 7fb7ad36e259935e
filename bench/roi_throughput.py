"""Mouth-ROI extraction throughput on the synthetic corpus, per stage.

Runs stage 2 (``msrs.data.extract.run_job``, one process = one core) on a
synthetic LRS3-layout corpus for several ``--detect_every`` settings and
prints, per setting:

* **frames/s per core**: extracted video frames / wall time of the job;
* **time shares** of decode (video + audio decoding, colour conversion),
  detect (MediaPipe face detector), align (gap filling, smoothing, warp + crop)
  and write (npy + wav), as measured by the job's stage timers;
* **effect of detecting every k-th frame**: mean absolute ROI difference to
  ``k = 1`` (grey levels) and the mean distance of the *true* mouth centre
  (the renderer's ground-truth keypoints) from the ROI centre, in ROI pixels.

With ``--probe`` it also measures how much the ROIs say about the words: a
linear (ridge) classifier on the ROI frames inside each word's time span
(6 frames resampled, 20x20 centre crop, 80 PCA components), trained on the
train speakers and scored on the unseen test speakers, per GRID slot
(command, colour, letter, digit, adverb).  Use it on a GRID corpus with test
speakers, e.g. the mini corpus.

The corpus is generated into a temporary directory (``--utts`` trainval clips,
GRID grammar) unless ``--corpus`` points at an existing one.  Nothing is
asserted; numbers are printed (and written as JSON with ``--json``).

Usage::

    python bench/roi_throughput.py
    python bench/roi_throughput.py --detect_every 1,2,3,5 --utts 40
    python bench/roi_throughput.py --corpus DIR --detect_every 3 --probe  # mini
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _true_mouth_error(data_dir: Path, dump: Path, landmarks: Path, crop_cfg) -> float:
    """Mean distance (ROI px) of the true mouth centre from the ROI centre."""
    from msrs.data import video_io
    from msrs.data.align import map_points, mouth_crop_matrix
    from msrs.data.datadir import DataDir, read_kv
    from msrs.data.extract import find_landmark_file
    from msrs.data.landmarks import load_landmarks
    from msrs.data.roi import MouthRoiExtractor

    data = DataDir.load(data_dir)
    errors = []
    with MouthRoiExtractor(crop_cfg) as ex:
        for utt in list(read_kv(dump / "video.scp"))[:10]:
            media = data.video[data.recording(utt).rec]
            truth = load_landmarks(find_landmark_file(landmarks, media))
            frames = video_io.read_video(media, gray=False)
            track = ex.smooth_track(ex.detect_track(frames))
            for t in range(0, len(frames), 2):
                m = mouth_crop_matrix(track[t], crop_cfg.crop_size)
                centre = map_points(m, truth[t][3:4])[0]
                errors.append(float(np.linalg.norm(centre - crop_cfg.crop_size / 2)))
    return float(np.mean(errors))


def _probe(corpus_data: Path, dumps: dict) -> dict:
    """Word-identity accuracy of a linear classifier on ROI frames, per GRID slot."""
    import cv2

    from msrs.data.datadir import DataDir, read_kv
    from msrs.data.lrs3 import read_transcript
    from msrs.data.roi_video import read_roi

    def features(name, slot):
        data = DataDir.load(corpus_data / name)
        xs, ys = [], []
        for utt, path in read_kv(dumps[name] / "video.scp").items():
            words = read_transcript(
                Path(data.video[data.recording(utt).rec]).with_suffix(".txt")
            ).words
            if data.segments and data.segments[utt].rec != utt or len(words) != 6:
                continue  # pretrain pieces and non-GRID sentences
            w = words[slot]
            roi = np.load(path) if path.endswith(".npy") else read_roi(path)
            f0 = int(w.start * 25)
            f1 = max(int(w.end * 25), f0 + 1)
            seg = np.stack(
                [
                    cv2.resize(f[24:84, 18:78], (20, 20), interpolation=cv2.INTER_AREA)
                    for f in roi[f0 : f1 + 1]
                ]
            ).astype(np.float32)
            v = seg[np.linspace(0, len(seg) - 1, 6).round().astype(int)].reshape(-1)
            xs.append((v - v.mean()) / (v.std() + 1e-6))
            ys.append(w.word)
        return np.array(xs), np.array(ys)

    out = {}
    for slot, name in enumerate(
        ["command", "colour", "preposition", "letter", "digit", "adverb"]
    ):
        xtr, ytr = features("train", slot)
        xte, yte = features("test", slot)
        if len(xtr) < 10 or len(xte) < 2:
            continue
        classes = sorted(set(ytr))
        mu = xtr.mean(0)
        _, _, vt = np.linalg.svd(xtr - mu, full_matrices=False)
        proj = vt[:80].T
        ztr, zte = (xtr - mu) @ proj, (xte - mu) @ proj
        target = np.array([[c == t for c in classes] for t in ytr], float) * 2 - 1
        w = np.linalg.solve(ztr.T @ ztr + 10 * np.eye(ztr.shape[1]), ztr.T @ target)
        pred = np.array(classes)[np.argmax(zte @ w, 1)]
        out[name] = {
            "classes": len(classes),
            "train": len(ytr),
            "test": len(yte),
            "accuracy": float(np.mean(pred == yte)),
            "chance": 1.0 / len(classes),
        }
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--corpus",
        default=None,
        help="existing synthetic corpus (default: generate one)",
    )
    p.add_argument(
        "--utts", type=int, default=24, help="trainval clips of the generated corpus"
    )
    p.add_argument("--detect_every", default="1,3", help="comma-separated k values")
    p.add_argument("--detect_max_side", type=int, default=0)
    p.add_argument(
        "--probe",
        action="store_true",
        help="also run the linear lip-reading probe (needs test speakers)",
    )
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args()

    import cv2

    cv2.setNumThreads(1)
    from msrs.data.extract import ExtractConfig, merge, run_job
    from msrs.data.lrs3_prep import prepare_lrs3
    from msrs.data.roi import RoiConfig
    from msrs.data.synth.corpus import CorpusConfig, generate_corpus

    ks = [int(k) for k in args.detect_every.split(",")]
    results = {"detect_every": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = Path(args.corpus) if args.corpus else tmp / "corpus"
        if not args.corpus:
            t0 = time.time()
            n_spk = max(1, args.utts // 12)
            cfg = CorpusConfig(
                num_train_speakers=n_spk,
                num_test_speakers=1,
                test_per_speaker=1,
                trainval_per_speaker=max(1, args.utts // n_spk),
                pretrain_per_speaker=0,
                babble_seconds=0,
            )
            counts = generate_corpus(corpus, cfg, nj=1, progress=False)
            gen_s = time.time() - t0
            results["generate"] = {
                "frames": counts["frames"],
                "seconds": gen_s,
                "frames_per_s_per_core": counts["frames"] / gen_s,
            }
            print(
                f"generated {counts['utterances']} clips, {counts['frames']} frames "
                f"in {gen_s:.1f} s "
                f"({counts['frames'] / gen_s:.0f} frames/s on 1 core, "
                "incl. process start-up)"
            )
        prepare_lrs3(
            corpus,
            tmp / "data",
            splits=("trainval", "test"),
            valid_fraction=0.0,
            progress=False,
            nj=1,
        )
        data = tmp / "data" / "train"
        rois = {}
        header = (
            f"{'k':>3} {'frames':>7} {'wall s':>7} {'init s':>6} {'fps/core':>9} "
            + " ".join(f"{s:>7}" for s in ("decode", "detect", "align", "write"))
            + f" {'dROI':>6} {'mouth px':>8}"
        )
        print(header)
        for k in ks:
            roi_cfg = RoiConfig(detect_every=k, detect_max_side=args.detect_max_side)
            out = tmp / f"dump_k{k}"
            summary = run_job(
                data, out, 1, 1, ExtractConfig(roi=roi_cfg), progress=False
            )
            merge(data, out, 1)
            from msrs.data.datadir import read_kv

            rois[k] = {u: np.load(pth) for u, pth in read_kv(out / "video.scp").items()}
            stages = dict(summary["stages_s"])
            init = stages.pop("init", 0.0)
            total = sum(stages.values())
            d_roi = float("nan")
            if ks[0] in rois and k != ks[0]:
                d_roi = float(
                    np.mean(
                        [
                            np.abs(rois[k][u].astype(float) - rois[ks[0]][u]).mean()
                            for u in rois[k]
                        ]
                    )
                )
            err = float("nan")
            if (corpus / "landmarks").is_dir():
                err = _true_mouth_error(data, out, corpus / "landmarks", roi_cfg)
            fps = summary["frames"] / (summary["wall_s"] - init)
            row = {
                "frames": summary["frames"],
                "wall_s": summary["wall_s"],
                "init_s": init,
                "fps_per_core": fps,
                "share": {s: v / total for s, v in stages.items()},
                "roi_diff_to_first": d_roi,
                "true_mouth_offset_px": err,
            }
            results["detect_every"][k] = row
            print(
                f"{k:>3} {summary['frames']:>7} {summary['wall_s']:>7.1f} "
                f"{init:>6.2f} {fps:>9.0f} "
                + " ".join(
                    f"{100 * row['share'][s]:>6.1f}%"
                    for s in ("decode", "detect", "align", "write")
                )
                + f" {d_roi:>6.2f} {err:>8.2f}"
            )
        if args.probe:
            test_out = tmp / "dump_test"
            run_job(
                tmp / "data" / "test",
                test_out,
                1,
                1,
                ExtractConfig(
                    roi=RoiConfig(
                        detect_every=ks[0], detect_max_side=args.detect_max_side
                    )
                ),
                progress=False,
            )
            merge(tmp / "data" / "test", test_out, 1)
            probe = _probe(
                tmp / "data", {"train": tmp / f"dump_k{ks[0]}", "test": test_out}
            )
            results["probe"] = probe
            print(
                f"linear lip-reading probe (k={ks[0]}; trained on train speakers, "
                "scored on unseen test speakers):"
            )
            for name, r in probe.items():
                print(
                    f"  {name:<12} {r['classes']:>3} words  train {r['train']:>4}  "
                    f"test {r['test']:>4}  "
                    f"accuracy {r['accuracy']:.2f}  (chance {r['chance']:.2f})"
                )
    print(
        "fps/core: extracted frames per second of one process "
        "after model loading (init);"
    )
    print("shares: stage timers of the job (decode includes audio; init excluded);")
    print(
        f"dROI: mean |ROI - ROI(k={ks[0]})| in grey levels; "
        "mouth px: true mouth centre to ROI centre."
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
