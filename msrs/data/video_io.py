"""Video and audio reading/writing with PyAV (FFmpeg bundled in the wheel).

Conventions used across msrs:

- video frames are ``uint8`` arrays, ``(T, H, W)`` grayscale or ``(T, H, W, 3)``
  RGB, at the container's frame rate (25 fps for LRS3);
- audio is ``float32`` mono in ``[-1, 1]``, resampled to ``sample_rate`` (16 kHz);
- every failure raises :class:`MediaError` whose message starts with the path.
"""

import platform
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Union

import av
import numpy as np

PathLike = Union[str, Path]


class MediaError(RuntimeError):
    """A media file is missing, unreadable, or lacks the requested stream."""


@dataclass
class MediaInfo:
    """Stream summary of a media file.

    Attributes:
        fps: video frame rate (frames/s), 0.0 without a video stream.
        num_frames: decoded video frame count (0 without video).
        width: frame width in pixels.
        height: frame height in pixels.
        has_audio: whether an audio stream exists.
        audio_rate: native audio sample rate (Hz), 0 without audio.
    """

    fps: float
    num_frames: int
    width: int
    height: int
    has_audio: bool
    audio_rate: int


def _open(path: PathLike) -> "av.container.InputContainer":
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise MediaError(f"{path}: cannot open media file ({e})") from e


def probe(path: PathLike) -> MediaInfo:
    """Return stream information; counts frames by demuxing (no decoding)."""
    with _open(path) as c:
        fps, n, w, h = 0.0, 0, 0, 0
        if c.streams.video:
            vs = c.streams.video[0]
            fps = float(vs.average_rate or vs.guessed_rate or 0)
            w, h = vs.codec_context.width, vs.codec_context.height
            try:
                n = sum(1 for p in c.demux(vs) if p.size > 0)
            except av.error.FFmpegError as e:
                raise MediaError(f"{path}: corrupt video stream ({e})") from e
        has_audio = bool(c.streams.audio)
        rate = c.streams.audio[0].codec_context.sample_rate if has_audio else 0
    return MediaInfo(fps, n, w, h, has_audio, rate)


def read_video(
    path: PathLike,
    gray: bool = True,
    start_frame: int = 0,
    end_frame: Optional[int] = None,
) -> np.ndarray:
    """Decode video frames.

    Args:
        path: media file.
        gray: return ``(T, H, W)`` luma instead of ``(T, H, W, 3)`` RGB.
        start_frame: first frame index to keep.
        end_frame: one past the last frame index to keep (``None``: to the end).

    Returns:
        ``uint8`` frames.
    """
    fmt = "gray" if gray else "rgb24"
    frames = []
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for i, frame in enumerate(c.decode(stream)):
                if end_frame is not None and i >= end_frame:
                    break
                if i >= start_frame:
                    frames.append(frame.to_ndarray(format=fmt))
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: corrupt video stream ({e})") from e
    if not frames:
        raise MediaError(f"{path}: no decodable video frames in the requested range")
    return np.stack(frames)


def read_audio(
    path: PathLike,
    sample_rate: int = 16000,
    start: float = 0.0,
    end: Optional[float] = None,
) -> np.ndarray:
    """Decode the first audio stream as mono ``float32`` at ``sample_rate``.

    Args:
        path: media or audio file (mp4, wav, flac, ...).
        sample_rate: output rate in Hz.
        start: start time in seconds.
        end: end time in seconds (``None``: to the end).

    Returns:
        ``(S,)`` samples in ``[-1, 1]``.
    """
    chunks = []
    with _open(path) as c:
        if not c.streams.audio:
            raise MediaError(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in c.decode(c.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: corrupt audio stream ({e})") from e
    if not chunks:
        raise MediaError(f"{path}: audio stream has no samples")
    audio = np.concatenate(chunks).astype(np.float32)
    lo = int(round(start * sample_rate))
    hi = None if end is None else int(round(end * sample_rate))
    return audio[lo:hi]


def write_video(
    path: PathLike,
    frames: np.ndarray,
    fps: int = 25,
    audio: Optional[np.ndarray] = None,
    sample_rate: int = 16000,
    crf: int = 18,
    codec: str = "libx264",
) -> None:
    """Encode frames (and optional mono audio) into an mp4/mkv container.

    Args:
        path: output file; its parent directory is created.
        frames: ``uint8`` ``(T, H, W)`` gray or ``(T, H, W, 3)`` RGB; H and W even
            for yuv420p codecs.
        fps: frame rate.
        audio: optional ``float32`` mono samples in ``[-1, 1]`` (AAC encoded).
        sample_rate: audio rate in Hz.
        crf: x264 constant rate factor (0 lossless, 18 visually lossless).
        codec: video codec name.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) == 0:
        raise ValueError(f"{path}: frames must be non-empty uint8 (T,H,W[,3])")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gray = frames.ndim == 3
    with av.open(str(path), mode="w") as c:
        vs = c.add_stream(codec, rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "gray" if codec == "ffv1" and gray else "yuv420p"
        if codec == "libx264":
            vs.options = {"crf": str(crf), "preset": "medium"}
        astream = None
        if audio is not None:
            astream = c.add_stream("aac", rate=sample_rate, layout="mono")
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="gray" if gray else "rgb24")
            for packet in vs.encode(frame):
                c.mux(packet)
        for packet in vs.encode():
            c.mux(packet)
        if astream is not None:
            pcm = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)[None, :]
            aframe = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            aframe.sample_rate = sample_rate
            aframe.time_base = Fraction(1, sample_rate)
            aframe.pts = 0
            for packet in astream.encode(aframe):
                c.mux(packet)
            for packet in astream.encode():
                c.mux(packet)


@lru_cache(maxsize=1)
def _x264_reproducible_params() -> Dict[str, str]:
    """x264 options that keep its output a function of its input.

    x264's AVX-512 kernels made the bytes depend on the process's memory state
    (measured with libx264 in PyAV 18.1: the same frames encoded in different
    processes gave different bitstreams and decoded pixels off by up to 34;
    with ``asm=AVX2`` or ``no-asm`` they were identical).  Where the CPU has
    AVX-512, x264 is therefore limited to AVX2, which every such CPU has; on
    other CPUs nothing is changed.
    """
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    return {"x264-params": "asm=AVX2"} if " avx512f" in flags else {}


def encode_video(
    path: PathLike,
    frames: np.ndarray,
    fps: int = 25,
    audio: Optional[np.ndarray] = None,
    sample_rate: int = 16000,
    crf: int = 18,
    codec: str = "libx264",
    preset: str = "medium",
    threads: int = 1,
    container_format: Optional[str] = None,
) -> None:
    """Like :func:`write_video`, with the encoder settings that fix its bytes.

    With ``threads`` fixed (default 1) the output is byte-identical across runs
    and machines for the same input (x264 and FFmpeg's AAC encoder are
    deterministic for a fixed thread count).

    Args:
        path: output file; its parent directory is created.
        frames: ``uint8`` ``(T, H, W)`` gray or ``(T, H, W, 3)`` RGB; H and W even
            for yuv420p codecs.
        fps: frame rate.
        audio: optional ``float32`` mono samples in ``[-1, 1]`` (AAC encoded).
        sample_rate: audio rate in Hz.
        crf: x264 constant rate factor (0 lossless, 18 visually lossless).
        codec: video codec name.
        preset: x264 preset (``ultrafast`` .. ``veryslow``).
        threads: encoder threads (0 = automatic, not reproducible across machines).
        container_format: container name (e.g. ``"mp4"``) when the file name's
            extension does not tell it (temporary files).
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) == 0:
        raise ValueError(f"{path}: frames must be non-empty uint8 (T,H,W[,3])")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gray = frames.ndim == 3
    with av.open(str(path), mode="w", format=container_format) as c:
        vs = c.add_stream(codec, rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "gray" if codec == "ffv1" and gray else "yuv420p"
        vs.thread_count = int(threads)
        if codec == "libx264":
            vs.options = {
                "crf": str(crf),
                "preset": preset,
                "threads": str(int(threads)),
                **_x264_reproducible_params(),
            }
        astream = None
        if audio is not None:
            astream = c.add_stream("aac", rate=sample_rate, layout="mono")
            astream.thread_count = 1
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="gray" if gray else "rgb24")
            for packet in vs.encode(frame):
                c.mux(packet)
        for packet in vs.encode():
            c.mux(packet)
        if astream is not None:
            pcm = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)[None, :]
            aframe = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            aframe.sample_rate = sample_rate
            aframe.time_base = Fraction(1, sample_rate)
            aframe.pts = 0
            for packet in astream.encode(aframe):
                c.mux(packet)
            for packet in astream.encode():
                c.mux(packet)


_LIMITED_TO_FULL = np.clip(
    np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255
).astype(np.uint8)


def _frame_to_array(frame: "av.VideoFrame", gray: bool) -> np.ndarray:
    """Fast conversion of a decoded frame (yuv420p via OpenCV, else swscale).

    Gives the same values as ``frame.to_ndarray(format="gray")`` (limited-range
    luma expanded to 0..255) and, within rounding, ``format="rgb24"``, at a
    fraction of swscale's cost.
    """
    if (
        frame.format.name == "yuv420p"
        and frame.width % 2 == 0
        and frame.height % 2 == 0
    ):
        import cv2

        yuv = frame.to_ndarray()
        if gray:
            y = yuv[: frame.height]
            full_range = (
                int(getattr(frame, "color_range", 0) or 0) == 2
            )  # AVCOL_RANGE_JPEG
            return (
                np.ascontiguousarray(y) if full_range else cv2.LUT(y, _LIMITED_TO_FULL)
            )
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="gray" if gray else "rgb24")


def iter_video(path: PathLike, gray: bool = True):
    """Yield decoded frames one by one (``uint8 (H, W)`` gray or ``(H, W, 3)`` RGB).

    Memory stays bounded for long recordings; errors raise :class:`MediaError`.
    """
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in c.decode(stream):
                yield _frame_to_array(frame, gray)
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: corrupt video stream ({e})") from e


def media_duration(path: PathLike) -> float:
    """Duration in seconds from the container header (no decoding).

    Uses the video stream's duration (or frame count / rate), else the
    container's; raises :class:`MediaError` if none is known.
    """
    with _open(path) as c:
        if c.streams.video:
            vs = c.streams.video[0]
            if vs.duration is not None and vs.time_base is not None:
                return float(vs.duration * vs.time_base)
            rate = float(vs.average_rate or vs.guessed_rate or 0)
            if vs.frames and rate > 0:
                return vs.frames / rate
        if c.duration is not None:
            return c.duration / 1_000_000.0
    raise MediaError(f"{path}: duration unknown")


def write_wav(path: PathLike, audio: np.ndarray, sample_rate: int = 16000) -> None:
    """Write mono audio as 16-bit PCM WAV, atomically (temp file + rename).

    Args:
        path: output ``.wav``; its parent directory is created.
        audio: ``float32 (S,)`` samples in ``[-1, 1]`` (clipped).
        sample_rate: Hz.
    """
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    data = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    soundfile.write(str(tmp), data, sample_rate, subtype="PCM_16", format="WAV")
    tmp.replace(path)


def video_fps(path: PathLike) -> float:
    """Frame rate of the first video stream from the header (0.0 if unknown).

    Raises:
        MediaError: unreadable file or no video stream.
    """
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path}: no video stream")
        vs = c.streams.video[0]
        return float(vs.average_rate or vs.guessed_rate or 0)
