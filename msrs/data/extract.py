"""Stage 2: mouth-ROI and audio dumps from a Kaldi-style data directory.

``run_job`` processes one shard (``--job J --num_jobs N``; recordings are dealt
round-robin in sorted order, so a long recording with many segments is decoded
once by one job); ``merge`` joins the shards into ``dump/<set>/``; ``extract``
does both with a local process pool.

Layout of ``out`` (see docs/architecture.md)::

    out/data/<speaker>/<utt>.npy|.mp4   uint8 (T, 96, 96) ROI (or gray H.264)
    out/data/<speaker>/<utt>.wav        16 kHz PCM16, exactly 640 * T samples
    out/jobs/<N>.<J>/{utt2num_frames,failures.txt,timing.json,done}
    out/{video.scp,wav.scp,text,utt2spk,spk2utt,utt2num_frames,failures.txt}  (merge)

Every output file is written to a temporary name and renamed, so an
utterance whose ROI and wav both exist is finished and is skipped on rerun
(failed utterances are retried).  Failures -- unreadable or corrupt media, no
audio stream, no face in any frame, too few frames, empty transcript, missing
landmark file -- are recorded per utterance as ``<utt> <reason>`` and never stop
the job.
"""

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

from msrs.data import video_io
from msrs.data.datadir import (
    DataDir,
    DataDirError,
    atomic_write_text,
    read_kv,
    write_kv,
)
from msrs.data.frame_rate import resample_list, resample_stream
from msrs.data.landmarks import (  # noqa: F401 (find_landmark_file re-exported)
    NoFaceError,
    check_landmark_coverage,
    find_landmark_file,
    load_landmarks,
)
from msrs.data.roi import MouthRoiExtractor, RoiConfig, Timers
from msrs.data.roi_video import DEFAULT_ROI_CRF, encode_roi

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS


@dataclass
class ExtractConfig:
    """Stage-2 settings.

    Attributes:
        roi: mouth-ROI settings.
        roi_format: ``npy`` (uint8 arrays) or ``mp4`` (full-range grey H.264,
            ``msrs.data.roi_video``).
        roi_crf: x264 CRF of ``mp4`` ROIs (0 = lossless; default
            ``roi_video.DEFAULT_ROI_CRF``).
        min_frames: utterances with fewer video frames fail as too short
            (5 frames = 0.2 s; our choice).
        landmarks_dir: precomputed landmarks (see
            :func:`msrs.data.landmarks.find_landmark_file`); recordings
            without a file fall back to the detector (listed in
            ``landmark_fallbacks.txt``), or fail with ``detector=none``.
        max_missing_landmarks: with ``landmarks_dir``, a job stops before
            extracting when more than this share of its recordings has no
            landmark file (a wrong root would otherwise cost hours of
            detection unnoticed).
        no_face_fallback: ``none`` (an utterance without a face in any frame
            fails) or ``centre_crop`` (it gets a centre crop of the frames, with
            a warning, and is listed in ``no_face_fallbacks.txt``; stage 2 uses
            it for test sets, which must be scored whole).
        resample_fps: videos not at 25 fps are resampled to 25 fps
            (:mod:`msrs.data.frame_rate`, noted in the log) instead of failing.
    """

    roi: RoiConfig = field(default_factory=RoiConfig)
    roi_format: str = "npy"
    roi_crf: int = DEFAULT_ROI_CRF
    min_frames: int = 5
    landmarks_dir: Optional[str] = None
    max_missing_landmarks: float = 0.05
    no_face_fallback: str = "none"
    resample_fps: bool = False

    def __post_init__(self):
        if self.no_face_fallback not in ("none", "centre_crop"):
            raise ValueError(
                f"no_face_fallback must be none or centre_crop, got {self.no_face_fallback!r}"
            )
        if not 0.0 <= self.max_missing_landmarks <= 1.0:
            raise ValueError(
                "--max_missing_landmarks must be in 0..1, "
                f"got {self.max_missing_landmarks}"
            )
        if self.roi_format not in ("npy", "mp4"):
            raise ValueError(
                f"--roi_format must be npy or mp4, got {self.roi_format!r}"
            )


class UttFailure(Exception):
    """An utterance cannot be extracted; the message is the recorded reason."""


def job_dir(out: PathLike, job: int, num_jobs: int) -> Path:
    return Path(out) / "jobs" / f"{num_jobs}.{job}"


def output_paths(
    out: PathLike, spk: str, utt: str, roi_format: str
) -> Tuple[Path, Path]:
    """ROI and wav paths of an utterance."""
    base = Path(out) / "data" / spk
    return base / f"{utt}.{roi_format}", base / f"{utt}.wav"


def _frames_of_wav(path: Path) -> int:
    import soundfile

    return soundfile.info(str(path)).frames // SAMPLES_PER_FRAME


def _save_roi(path: Path, roi: np.ndarray, fmt: str, crf: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        tmp = path.with_name(path.name + ".partial")
        with open(tmp, "wb") as f:
            np.save(f, roi)
        os.replace(tmp, path)
    else:
        tmp = path.with_name(path.stem + ".partial.mp4")
        encode_roi(tmp, roi, crf=crf, fps=FPS)
        os.replace(tmp, path)


@dataclass
class _Pending:
    utt: str
    spk: str
    f0: int
    f1: Optional[int]  # exclusive; None = to the end
    gray: List[np.ndarray] = field(default_factory=list)
    track: List[Optional[np.ndarray]] = field(default_factory=list)


class _RecordingProcessor:
    def __init__(self, out: Path, config: ExtractConfig, extractor: MouthRoiExtractor):
        self.out = out
        self.config = config
        self.ex = extractor
        self.timers = extractor.timers
        self.video = ""
        self.no_face: Dict[str, str] = {}  # utt -> reason, centre crop used

    def run(
        self, rec: str, video: str, wav: str, utts: List[_Pending]
    ) -> Tuple[Dict[str, int], Dict[str, str]]:
        done: Dict[str, int] = {}
        failed: Dict[str, str] = {}
        cfg = self.config
        self.video = video
        landmarks = None
        use_detector = cfg.roi.detector != "none"
        if cfg.landmarks_dir:
            lm_file = find_landmark_file(cfg.landmarks_dir, video)
            if lm_file is not None:
                landmarks = load_landmarks(lm_file)  # ValueError -> recording failure
                use_detector = False
            elif not use_detector:
                raise UttFailure(
                    f"no landmark file for {video} under {cfg.landmarks_dir}"
                )
        with self.timers("decode"):
            fps = video_io.video_fps(video)
            resample = bool(fps) and abs(fps - FPS) > 0.01
            if resample and not cfg.resample_fps:
                raise UttFailure(
                    f"{video}: video is {fps:.3f} fps, msrs expects {FPS} fps "
                    "(re-encode, e.g. ffmpeg -i IN -r 25 OUT, or pass --resample_fps true)"
                )
            audio = video_io.read_audio(wav, SAMPLE_RATE)
        pending = sorted(utts, key=lambda p: p.f0)
        n = 0
        last_rgb = None
        it = video_io.iter_video(video, gray=not use_detector)
        if resample:
            logger.info("%s: %.3f fps, resampled to %d fps", video, fps, FPS)
            it = resample_stream(it, fps, FPS)
            if landmarks is not None:
                landmarks = resample_list(landmarks, fps, FPS)
        while True:
            with self.timers("decode"):
                try:
                    frame = next(it, None)
                except video_io.MediaError as e:
                    if n == 0:
                        raise
                    for p in pending:  # finished segments stay finished
                        failed[p.utt] = f"{e} (after {n} frames)"
                    return done, failed
                if frame is None:
                    break
                gray = (
                    cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if use_detector else frame
                )
            active = [p for p in pending if p.f0 <= n and (p.f1 is None or n < p.f1)]
            if active:
                kp = None
                if landmarks is not None:
                    kp = landmarks[n] if n < len(landmarks) else None
                elif use_detector and (
                    self.ex.should_detect(n) or any(p.f1 == n + 1 for p in active)
                ):
                    kp = self.ex.detect(frame)
                for p in active:
                    p.gray.append(gray)
                    p.track.append(kp)
            last_rgb = frame if use_detector else None
            finished = [p for p in pending if p.f1 is not None and p.f1 == n + 1]
            for p in finished:
                self._finish(p, audio, wav, done, failed)
                pending.remove(p)
            n += 1
        if n == 0:
            raise UttFailure(f"{video}: no decodable video frames")
        for p in pending:  # whole clips and segments running past the last frame
            if (
                p.track
                and p.track[-1] is None
                and use_detector
                and last_rgb is not None
            ):
                p.track[-1] = self.ex.detect(last_rgb)
            self._finish(p, audio, wav, done, failed, total=n)
        return done, failed

    def _finish(
        self,
        p: _Pending,
        audio: np.ndarray,
        wav: str,
        done,
        failed,
        total: Optional[int] = None,
    ) -> None:
        cfg = self.config
        try:
            t = len(p.gray)
            if t < cfg.min_frames:
                where = f"frames {p.f0}-{p.f1 if p.f1 is not None else 'end'}"
                extra = f" of {total}" if total is not None else ""
                raise UttFailure(
                    f"too short: {t} video frames ({where}{extra}), "
                    f"need >= {cfg.min_frames}"
                )
            if cfg.roi.detector == "none" and not any(k is not None for k in p.track):
                roi = self.ex.crop_aligned(p.gray)
            else:
                try:
                    roi = self.ex.crop(p.gray, p.track)
                except NoFaceError as e:
                    if cfg.no_face_fallback != "centre_crop":
                        raise UttFailure(f"{self.video}: {e}") from None
                    roi = self.ex.crop_aligned(p.gray)
                    self.no_face[p.utt] = _one_line(f"{self.video}: {e}; centre crop used")
                    logger.warning("%s: %s", p.utt, self.no_face[p.utt])
            a0 = p.f0 * SAMPLES_PER_FRAME
            seg = audio[a0 : a0 + t * SAMPLES_PER_FRAME]
            if len(seg) < t * SAMPLES_PER_FRAME:
                if len(seg) == 0:
                    raise UttFailure(
                        f"{wav}: no audio samples in frames {p.f0}-{p.f0 + t}"
                    )
                seg = np.pad(seg, (0, t * SAMPLES_PER_FRAME - len(seg)))
            roi_path, wav_path = output_paths(self.out, p.spk, p.utt, cfg.roi_format)
            with self.timers("write"):
                _save_roi(roi_path, roi, cfg.roi_format, cfg.roi_crf)
                video_io.write_wav(wav_path, seg, SAMPLE_RATE)
            self.timers.frames += t
            done[p.utt] = t
        except UttFailure as e:
            failed[p.utt] = str(e)
        finally:
            p.gray, p.track = [], []


class _NoBar:
    """A disabled progress bar (tqdm creates a multiprocessing lock even then)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_job(
    data_dir: PathLike,
    out: PathLike,
    job: int = 1,
    num_jobs: int = 1,
    config: Optional[ExtractConfig] = None,
    progress: bool = True,
) -> Dict[str, object]:
    """Extract the recordings of shard ``job`` (1-based) of ``num_jobs``.

    Writes ``out/jobs/<num_jobs>.<job>/`` with ``utt2num_frames``,
    ``failures.txt``, ``timing.json`` and finally ``done``.

    Returns:
        summary with counts and stage timings.
    """
    from tqdm import tqdm

    config = config or ExtractConfig()
    if not 1 <= job <= num_jobs:
        raise ValueError(f"--job must be in 1..{num_jobs}, got {job}")
    out = Path(out)
    data = DataDir.load(data_dir)
    if not data.video:
        raise DataDirError(f"{data_dir}: video.scp missing or empty")
    jdir = job_dir(out, job, num_jobs)
    (jdir / "done").unlink(missing_ok=True)
    by_rec: Dict[str, List[str]] = {}
    failed: Dict[str, str] = {}
    for utt in data.utterances():
        try:
            seg = data.recording(utt)
        except DataDirError as e:
            failed[utt] = str(e)
            continue
        by_rec.setdefault(seg.rec, []).append(utt)
    recs = sorted(by_rec, key=lambda r: r.encode())[job - 1 :: num_jobs]
    mine = {u for r in recs for u in by_rec[r]}
    if job != 1:  # utterances without a recording are reported by job 1 only
        failed = {}
    fallbacks: Dict[str, str] = {}
    if config.landmarks_dir:
        fallbacks = check_landmark_coverage(
            config.landmarks_dir,
            {r: data.video[r] for r in recs if r in data.video},
            config.max_missing_landmarks,
        )
        if fallbacks and config.roi.detector != "none":
            logger.warning(
                "%d of %d recordings have no landmark file under %s; the face "
                "detector runs on them (listed in landmark_fallbacks.txt)",
                len(fallbacks), len(recs), config.landmarks_dir,
            )
    frames: Dict[str, int] = {}
    timers = Timers()
    t_start = time.perf_counter()
    with MouthRoiExtractor(config.roi, timers) as ex:
        proc = _RecordingProcessor(out, config, ex)
        bar = (
            tqdm(total=len(mine), unit="utt", desc=f"extract_roi {job}/{num_jobs}")
            if progress
            else _NoBar()
        )
        for rec in recs:
            todo = []
            for utt in by_rec[rec]:
                spk = data.utt2spk[utt]
                roi_path, wav_path = output_paths(out, spk, utt, config.roi_format)
                if not data.text.get(utt, "").strip():
                    failed[utt] = "empty transcript"
                elif roi_path.is_file() and wav_path.is_file():
                    frames[utt] = _frames_of_wav(wav_path)
                else:
                    seg = data.recording(utt)
                    f0 = int(seg.start * FPS + 1e-6)
                    f1 = (
                        None
                        if seg.end is None or not data.segments
                        else int(seg.end * FPS + 1e-6)
                    )
                    if f1 is not None and f1 <= f0:
                        failed[utt] = (
                            f"too short: empty segment {seg.start:.2f}-{seg.end:.2f} s"
                        )
                        continue
                    todo.append(_Pending(utt, spk, f0, f1))
            if todo:
                try:
                    if rec not in data.video:
                        raise UttFailure(f"recording {rec} missing from video.scp")
                    video = data.video[rec]
                    wav = data.wav.get(rec, video)
                    done, bad = proc.run(rec, video, wav, todo)
                    frames.update(done)
                    failed.update(bad)
                except (UttFailure, video_io.MediaError, ValueError, OSError) as e:
                    for p in todo:
                        failed[p.utt] = _one_line(e)
                except Exception as e:  # never let one recording kill the job
                    logger.exception("recording %s failed", rec)
                    for p in todo:
                        failed[p.utt] = _one_line(
                            f"internal error: {type(e).__name__}: {e}"
                        )
            bar.update(len(by_rec[rec]))
        bar.close()
    timing = {
        "wall_s": time.perf_counter() - t_start,
        "frames": timers.frames,
        "stages_s": timers.seconds,
    }
    jdir.mkdir(parents=True, exist_ok=True)
    write_kv(jdir / "utt2num_frames", frames)
    write_kv(jdir / "failures.txt", {u: _one_line(r) for u, r in failed.items()})
    if config.roi.detector != "none":
        write_kv(jdir / "landmark_fallbacks.txt", fallbacks)
    # centre-crop fallbacks of this run and of earlier runs (their outputs were skipped)
    nf_path = jdir / "no_face_fallbacks.txt"
    no_face = read_kv(nf_path) if nf_path.is_file() else {}
    no_face = {u: r for u, r in {**no_face, **proc.no_face}.items() if u in frames}
    write_kv(nf_path, no_face)
    atomic_write_text(jdir / "timing.json", json.dumps(timing, indent=1) + "\n")
    atomic_write_text(jdir / "done", json.dumps(asdict(config), default=str) + "\n")
    for utt, reason in sorted(failed.items()):
        logger.warning("%s: %s", utt, reason)
    return {
        "job": job,
        "done": len(frames),
        "failed": len(failed),
        "landmark_fallbacks": len(fallbacks) if config.roi.detector != "none" else 0,
        **timing,
    }


def merge(
    data_dir: PathLike, out: PathLike, num_jobs: int, roi_format: Optional[str] = None
) -> Dict[str, int]:
    """Join the shards into ``out``'s scp/text files (see module doc).

    Args:
        data_dir: the data directory the jobs read.
        out: the dump directory.
        num_jobs: number of shards.
        roi_format: ``npy`` or ``mp4``; ``None`` takes it from the jobs' settings.

    Raises:
        RuntimeError: a shard has not finished (its ``done`` file is missing),
            or the shards used different ROI formats.
    """
    out = Path(out)
    data = DataDir.load(data_dir)
    frames: Dict[str, int] = {}
    failed: Dict[str, str] = {}
    missing = [
        j
        for j in range(1, num_jobs + 1)
        if not (job_dir(out, j, num_jobs) / "done").is_file()
    ]
    if missing:
        raise RuntimeError(
            f"{out}: extraction job(s) {missing} of {num_jobs} did not finish; "
            "rerun them (finished utterances are skipped), then merge"
        )
    formats = set()
    fallbacks: Dict[str, str] = {}
    no_face: Dict[str, str] = {}
    for j in range(1, num_jobs + 1):
        jdir = job_dir(out, j, num_jobs)
        frames.update({u: int(v) for u, v in read_kv(jdir / "utt2num_frames").items()})
        failed.update(read_kv(jdir / "failures.txt"))
        if (jdir / "landmark_fallbacks.txt").is_file():
            fallbacks.update(read_kv(jdir / "landmark_fallbacks.txt"))
        if (jdir / "no_face_fallbacks.txt").is_file():
            no_face.update(read_kv(jdir / "no_face_fallbacks.txt"))
        try:
            formats.add(json.loads((jdir / "done").read_text())["roi_format"])
        except (ValueError, KeyError):
            pass
    if roi_format is None:
        if len(formats) > 1:
            raise RuntimeError(
                f"{out}: jobs wrote different ROI formats {sorted(formats)}"
            )
        roi_format = formats.pop() if formats else "npy"
    for u in frames:
        failed.pop(u, None)
    unaccounted = [u for u in data.text if u not in frames and u not in failed]
    for u in unaccounted:
        failed[u] = "not processed by any job (data dir changed after extraction?)"
    dump = DataDir(
        text={u: data.text[u] for u in frames},
        utt2spk={u: data.utt2spk[u] for u in frames},
        utt2num_frames=frames,
    )
    for u in frames:
        roi, wav = output_paths(out, data.utt2spk[u], u, roi_format)
        dump.video[u] = str(roi)
        dump.wav[u] = str(wav)
    dump.save(out)
    write_kv(out / "failures.txt", failed)
    if fallbacks:
        write_kv(out / "landmark_fallbacks.txt", fallbacks)
    else:
        (out / "landmark_fallbacks.txt").unlink(missing_ok=True)
    no_face = {u: r for u, r in no_face.items() if u in frames}
    if no_face:
        write_kv(out / "no_face_fallbacks.txt", no_face)
    else:
        (out / "no_face_fallbacks.txt").unlink(missing_ok=True)
    return {
        "utterances": len(frames),
        "failed": len(failed),
        "frames": sum(frames.values()),
        "landmark_fallbacks": len(fallbacks),
    }


def _job_entry(args) -> Dict[str, object]:
    data_dir, out, job, num_jobs, config = args
    import cv2 as _cv2

    _cv2.setNumThreads(1)
    return run_job(data_dir, out, job, num_jobs, config, progress=False)


def extract(
    data_dir: PathLike,
    out: PathLike,
    config: Optional[ExtractConfig] = None,
    nj: int = 1,
    progress: bool = True,
) -> Dict[str, object]:
    """Run ``nj`` shards in local processes (or in-process for ``nj=1``), then merge."""
    config = config or ExtractConfig()
    if nj <= 1:
        summary = run_job(data_dir, out, 1, 1, config, progress)
        jobs = [summary]
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(nj) as pool:
            jobs = pool.map(
                _job_entry,
                [(str(data_dir), str(out), j, nj, config) for j in range(1, nj + 1)],
            )
    result = merge(data_dir, out, max(nj, 1), config.roi_format)
    result["jobs"] = jobs
    return result
