"""Transcribe video (or audio) files with a packed model.

    python -m msrs.bin.transcribe --model_archive exp/vsr_train_vsr_msrs/model.tar.gz \\
        clip1.mp4 clip2.mov [--modality vsr|asr|avsr] [--device cuda] \\
        [--json timings.json] [--save_roi rois/] [--window_s 20]

prints ``<file><TAB><text>`` per file on stdout.  The archive (``msrs.bin.pack``,
stage 11) holds the model, its tokens, the recipe's decoding settings (beam
size, CTC weight ...) and the stage-2 ROI options; the mouth ROIs are made
exactly as in stage 2 (MediaPipe face detection, smoothing, alignment,
crop), on the fly, from video of any frame rate (resampled to 25 fps, noted
in the log) and resolution.  Long files are cut into windows of at most
``--window_s`` seconds, each cut at the quietest moment of the last
``--pause_search_s`` seconds (a pause; fixed cuts without audio), decoded
one by one with a progress bar (:mod:`msrs.data.stream_roi`).

``--modality`` defaults to the model's; an AVSR model also reads video only
(``vsr``: the audio stream is zeroed at the fusion) or audio only (``asr``).
A file that cannot be transcribed (missing, no video stream for a lip-reading
model, no face in any frame ...) is reported on stderr with the reason and
the others go on; the exit status is then 1.  ``--json`` writes, per file,
the text, each window's text and times, and the seconds spent per stage
(``load_model``, ``audio``, ``decode``, ``detect``, ``align``, ``recognise``).
"""

import argparse
import contextlib
import copy
import inspect
import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from msrs.data.cli import add_log_level, setup_logging, str2bool

logger = logging.getLogger("msrs.transcribe")

FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS


class TranscribeError(RuntimeError):
    """A file cannot be transcribed; the message names the file and the reason."""


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Transcribe video/audio files with a packed msrs model",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("files", nargs="+", help="video (mp4, mov, mpg, avi ...) or audio files")
    p.add_argument("--model_archive", required=True, help="archive from msrs.bin.pack (stage 11)")
    p.add_argument("--modality", default=None, choices=["vsr", "asr", "avsr"],
                   help="streams to use (default: the model's)")  # fmt: skip
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--json", default=None, help="write texts, windows and per-stage seconds here")
    p.add_argument("--save_roi", default=None,
                   help="folder for the mouth-crop videos the model saw (<name>_roi.mp4)")  # fmt: skip
    p.add_argument("--window_s", type=float, default=20.0,
                   help="longest piece decoded at once (s); longer files are cut")  # fmt: skip
    p.add_argument("--pause_search_s", type=float, default=4.0,
                   help="a cut may move this much earlier, to the quietest frame")  # fmt: skip
    p.add_argument("--roi_opts", default=None,
                   help="msrs.bin.extract_roi options (default: those packed with the model)")  # fmt: skip
    p.add_argument("--beam_size", type=int, default=None, help="default: the archive's decoding settings")
    p.add_argument("--ctc_weight", type=float, default=None, help="default: the archive's")
    p.add_argument("--progress", type=str2bool, default=True, help="progress bar over windows")
    add_log_level(p, "WARNING")
    return p


def roi_config(roi_opts: Optional[str]):
    """The :class:`msrs.data.roi.RoiConfig` of ``msrs.bin.extract_roi`` options."""
    from msrs.bin import extract_roi

    args = extract_roi.get_parser().parse_args(
        ["--data", "-", "--out", "-"] + shlex.split(roi_opts or "")
    )
    return extract_roi.build_config(args).roi


class Transcriber:
    """A packed model, its preprocessing and the ROI extractor, loaded once.

    Args:
        archive: model archive (``msrs.bin.pack``).
        modality: streams to use (``None``: the model's).
        device: torch device name.
        roi_opts: ``msrs.bin.extract_roi`` options (``None``: the archive's).
        decode_overrides: decoding options that replace the archive's.
    """

    def __init__(
        self, archive: str, modality: Optional[str] = None, device: str = "cpu",
        roi_opts: Optional[str] = None, decode_overrides: Optional[Dict[str, Any]] = None,
    ):  # fmt: skip
        from msrs.utils.espnet_import import import_espnet

        import_espnet()  # silences the nltk download espnet's import tries (offline machines)
        from msrs.bin.avsr_inference import AVSRDecoder
        from msrs.data.roi import MouthRoiExtractor
        from msrs.tasks.avsr import AVSRTask
        from msrs.utils.model_archive import read_meta, unpack

        t0 = time.perf_counter()
        paths = unpack(archive)
        meta = read_meta(Path(paths["asr_train_config"]).parents[1])
        known = inspect.signature(AVSRDecoder.__init__).parameters
        decode = {k: v for k, v in (meta.get("decode") or {}).items() if k in known}
        decode.update({k: v for k, v in (decode_overrides or {}).items() if v is not None})
        if "roi_opts" not in meta and roi_opts is None:
            logger.warning("%s has no ROI options (packed before they were kept): "
                           "using extract_roi's defaults", archive)  # fmt: skip
        self.roi = roi_config(roi_opts if roi_opts is not None else meta.get("roi_opts"))
        model_modality = self._model_modality(paths["asr_train_config"])
        self.modality = modality or model_modality
        drop = None
        if self.modality != model_modality:
            if model_modality != "avsr":
                raise TranscribeError(
                    f"{archive}: the model is {model_modality}; --modality {self.modality} "
                    "needs a model of that modality or an avsr model")  # fmt: skip
            drop = "audio" if self.modality == "vsr" else "video"
        lm = {k: paths[k] for k in ("lm_train_config", "lm_file") if k in paths}
        self.decoder = AVSRDecoder(
            asr_train_config=paths["asr_train_config"], asr_model_file=paths["asr_model_file"],
            device=device, drop_modality=drop, **lm, **decode,
        )  # fmt: skip
        args = copy.deepcopy(self.decoder.train_args)
        conf = dict(getattr(args, "preprocessor_conf", None) or {})
        conf.update(noise_file=None, test_snr=None)  # clean input; the noise file stays with training
        args.preprocessor_conf = conf
        self.preprocess = AVSRTask.build_preprocess_fn(args, train=False)
        self.collate = AVSRTask.build_collate_fn(args, train=False)
        self.extractor = MouthRoiExtractor(self.roi)
        self.model_modality = model_modality
        self.load_seconds = time.perf_counter() - t0

    @staticmethod
    def _model_modality(config: str) -> str:
        import yaml

        with open(config, encoding="utf-8") as f:
            return str((yaml.safe_load(f) or {}).get("modality", "vsr"))

    def close(self) -> None:
        self.extractor.close()

    def _recognise(self, key: str, roi: Optional[np.ndarray], audio: Optional[np.ndarray], frames: int) -> str:
        """Decode one window (zeros stand in for a stream the model has but is not given)."""
        data: Dict[str, np.ndarray] = {}
        if self.model_modality in ("vsr", "avsr"):
            size = self.roi.crop_size
            data["video"] = roi if roi is not None else np.zeros((frames, size, size), np.uint8)
        if self.model_modality in ("asr", "avsr"):
            data["speech"] = (
                audio if audio is not None else np.zeros(frames * SAMPLES_PER_FRAME, np.float32)
            )
        _, batch = self.collate([(key, self.preprocess(key, data))])
        result = self.decoder.decode_batch([key], batch)[0][0]
        return (result[0] or "").strip()

    def transcribe(self, path: str, save_roi: Optional[str] = None,
                   window_s: float = 20.0, pause_search_s: float = 4.0,
                   progress: bool = True) -> Dict[str, Any]:  # fmt: skip
        """Transcribe one file; returns its JSON record (``text``, ``windows``, ``seconds``).

        Raises:
            TranscribeError: the file cannot be transcribed (message says why).
        """
        from tqdm import tqdm

        from msrs.data import video_io
        from msrs.data.roi import Timers
        from msrs.data.stream_roi import count_frames, frame_energy, iter_window_rois, plan_windows

        t_file = time.perf_counter()
        timers = self.extractor.timers = Timers()
        if not Path(path).is_file():
            raise TranscribeError(f"{path}: no such file")
        use_video = self.modality in ("vsr", "avsr")
        use_audio = self.modality in ("asr", "avsr")
        try:
            info = video_io.probe(path)
        except video_io.MediaError as e:
            raise TranscribeError(str(e)) from None
        if use_video and info.num_frames == 0:
            raise TranscribeError(
                f"{path}: no video stream; a {self.modality} model reads the mouth "
                "(for audio use an asr or avsr model with --modality asr)")  # fmt: skip
        if use_audio and not info.has_audio:
            hint = " (an avsr model also reads video only: --modality vsr)" if self.modality == "avsr" else ""
            raise TranscribeError(f"{path}: no audio stream, which --modality {self.modality} needs{hint}")
        audio = None
        if info.has_audio and (use_audio or pause_search_s > 0):
            with timers("audio"):
                audio = video_io.read_audio(path, SAMPLE_RATE)
        if use_video:
            num_frames, src_fps = count_frames(path)
            if abs(src_fps - FPS) > 0.01:
                logger.warning("%s: %.3f fps, resampled to %d fps", path, src_fps, FPS)
        else:
            num_frames, src_fps = int(np.ceil(len(audio) / SAMPLES_PER_FRAME)), float(FPS)
        energy = frame_energy(audio, num_frames) if audio is not None else None
        windows = plan_windows(
            num_frames, int(round(window_s * FPS)), int(round(pause_search_s * FPS)), energy
        )
        rois = iter_window_rois(path, self.extractor, windows, src_fps) if use_video else None
        bar = tqdm(total=len(windows), unit="window", desc=Path(path).name, file=sys.stderr,
                   disable=not progress or len(windows) < 2)  # fmt: skip
        records, kept, no_face = [], [], []
        for k, (start, end) in enumerate(windows):
            roi = None
            if rois is not None:
                got = next(rois, None)
                if got is None:  # the decoder gave fewer frames than the header counted
                    break
                roi = got[1]
                if isinstance(roi, Exception):
                    no_face.append(k)
                    logger.warning("%s: %.1f-%.1f s: %s", path, start / FPS, end / FPS, roi)
                    records.append(dict(start_s=start / FPS, end_s=end / FPS, text="", error="no face"))
                    bar.update()
                    continue
                kept.append(roi)
                end = start + len(roi)
            seg = None
            if use_audio:
                seg = np.zeros((end - start) * SAMPLES_PER_FRAME, np.float32)
                piece = audio[start * SAMPLES_PER_FRAME : end * SAMPLES_PER_FRAME]
                seg[: len(piece)] = piece
            with timers("recognise"):
                text = self._recognise(f"{Path(path).stem}_{k:04d}", roi, seg, end - start)
            records.append(dict(start_s=start / FPS, end_s=end / FPS, text=text))
            bar.update()
        bar.close()
        if use_video and not kept:
            raise TranscribeError(
                f"{path}: no face found in any of its {num_frames} frames "
                f"({self.roi.detector} detector); the model needs the speaker's face in view")  # fmt: skip
        if save_roi and kept:
            from msrs.data.roi_video import encode_roi

            out = Path(save_roi) / f"{Path(path).stem}_roi.mp4"
            out.parent.mkdir(parents=True, exist_ok=True)
            with timers("write"):
                encode_roi(out, np.concatenate(kept), fps=FPS)
        total = time.perf_counter() - t_file
        media_s = num_frames / FPS
        return dict(
            file=path, text=" ".join(r["text"] for r in records if r["text"]),
            modality=self.modality, media_seconds=media_s, source_fps=src_fps,
            windows=records, no_face_windows=no_face,
            seconds={**{k: round(v, 4) for k, v in timers.seconds.items() if v}, "total": round(total, 4)},
            rtf=total / media_s if media_s else None,
        )  # fmt: skip


def main(cmd: Optional[Sequence[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    out = sys.stdout  # only the transcripts go there: what libraries print goes to stderr
    with contextlib.redirect_stdout(sys.stderr):
        return _run(args, out)


def _run(args: argparse.Namespace, out) -> int:
    if not Path(args.model_archive).is_file():
        logger.error("--model_archive %s: no such file (stage 11 of a recipe writes it)", args.model_archive)
        return 2
    try:
        tr = Transcriber(
            args.model_archive, args.modality, args.device, args.roi_opts,
            dict(beam_size=args.beam_size, ctc_weight=args.ctc_weight),
        )  # fmt: skip
    except (TranscribeError, ValueError) as e:
        logger.error("%s", e)
        return 2
    records: List[Dict[str, Any]] = []
    failed = 0
    try:
        for f in args.files:
            try:
                rec = tr.transcribe(f, args.save_roi, args.window_s, args.pause_search_s, args.progress)
            except Exception as e:  # one bad file never stops the others
                msg = str(e) if isinstance(e, TranscribeError) else f"{f}: {type(e).__name__}: {e}"
                if not isinstance(e, TranscribeError):
                    logger.debug("%s failed", f, exc_info=True)
                print(f"transcribe: {msg}", file=sys.stderr)
                records.append(dict(file=f, error=msg))
                failed += 1
                continue
            print(f"{f}\t{rec['text']}", file=out, flush=True)
            records.append(rec)
    finally:
        tr.close()
    if args.json:
        summary = dict(model_archive=args.model_archive, device=args.device,
                       modality=tr.modality, load_model_seconds=round(tr.load_seconds, 4),
                       files=records)  # fmt: skip
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
