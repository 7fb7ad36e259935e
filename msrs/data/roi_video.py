"""Compact storage of mouth ROIs: grey (4:0:0) H.264 and a fast reader.

Stage 2 writes ROIs as ``.npy`` (uint8 ``(T, H, W)``, 9,216 bytes per 96x96
frame) or, with ``--roi_format mp4``, as H.264 written here:

- **pixel format** ``gray`` (x264's 4:0:0 mode: no chroma planes at all) in
  **full range** (``color_range`` JPEG), so the grey levels 0..255 are coded
  as they are: CRF 0 round-trips bit-exactly, and no 16..235 rescaling adds
  its own rounding error at lossy settings;
- one encoder thread and x264's AVX2 kernels at most
  (:func:`msrs.data.video_io._x264_reproducible_params`), so the bytes depend
  only on the frames and the settings;
- **default CRF** :data:`DEFAULT_ROI_CRF`; the choice and its measured sizes,
  errors and read speeds are in docs/data.md ("ROI storage"), produced by
  ``bench/roi_reader.py``.

:func:`read_roi` is the training-time reader: one decoder thread (a data
loader worker is one core), the luma plane copied straight out of the decoded
frame with numpy (no swscale conversion).  Files in other layouts (the
limited-range ``yuv420p`` mp4 ROIs of earlier msrs versions, any other video)
are read too and give the same values as
``video_io.read_video(path, gray=True)``.
"""

from fractions import Fraction
from pathlib import Path
from typing import Optional, Union

import av
import numpy as np

from msrs.data.video_io import (
    _LIMITED_TO_FULL,
    MediaError,
    _open,
    _x264_reproducible_params,
)

PathLike = Union[str, Path]

#: x264 CRF of ``--roi_format mp4`` unless ``--roi_crf`` says otherwise:
#: x264's own default, the quality at which Auto-AVSR stores its ROIs.
DEFAULT_ROI_CRF = 23

#: Bytes per 96x96 grey frame of :func:`encode_roi` by CRF, measured with
#: ``bench/roi_reader.py`` on stage-2 ROIs of the synthetic corpus
#: (docs/data.md, "ROI storage").
SYNTH_MP4_BYTES_PER_FRAME = {0: 3208, 16: 376, 18: 289, 20: 222, 23: 153, 26: 110, 28: 92}
#: Real video is noisier than the synthetic mouths: Auto-AVSR's LRS3 ROIs at
#: CRF 23 take about 10 GB for 39.4 M frames (254 bytes/frame, with chroma),
#: 1.66x our synthetic CRF-23 figure; estimates scale by this factor.
REAL_VIDEO_FACTOR = 254 / 153
NPY_HEADER_BYTES = 128
WAV_BYTES_PER_FRAME = 2 * 640  # PCM16 at 16 kHz, 25 fps


def roi_bytes_per_frame(
    roi_format: str, crf: int = DEFAULT_ROI_CRF, height: int = 96, width: int = 96
) -> float:
    """Expected disk bytes per ROI frame (an estimate for planning disk space).

    ``npy`` is exact (plus a 128-byte header per file, not included); ``mp4``
    interpolates :data:`SYNTH_MP4_BYTES_PER_FRAME` log-linearly in the CRF
    (clamped to the measured range), scales it by :data:`REAL_VIDEO_FACTOR`
    and by the frame area relative to 96x96.
    """
    if roi_format == "npy":
        return float(height * width)
    if roi_format != "mp4":
        raise ValueError(f"unknown ROI format {roi_format!r} (npy or mp4)")
    crfs = sorted(SYNTH_MP4_BYTES_PER_FRAME)
    c = min(max(float(crf), crfs[0]), crfs[-1])
    logs = np.log([SYNTH_MP4_BYTES_PER_FRAME[k] for k in crfs])
    synth = float(np.exp(np.interp(c, crfs, logs)))
    return synth * REAL_VIDEO_FACTOR * height * width / (96 * 96)

_AVCOL_RANGE_JPEG = 2
_FULL_RANGE_FORMATS = {"gray", "yuvj420p", "yuvj422p", "yuvj444p"}
_LIMITED_FORMATS = {"yuv420p", "yuv422p", "yuv444p", "nv12", "nv21"}


def encode_roi(
    path: PathLike,
    frames: np.ndarray,
    crf: int = DEFAULT_ROI_CRF,
    fps: int = 25,
    preset: str = "medium",
    container_format: Optional[str] = None,
) -> None:
    """Write grey ROI frames as full-range 4:0:0 H.264.

    Args:
        path: output file (``.mp4``); its parent directory is created.
        frames: ``uint8 (T, H, W)`` grey frames, ``T >= 1``.
        crf: x264 constant rate factor (0 = lossless, 51 = worst).
        fps: frame rate (frames/s).
        preset: x264 preset (speed/size trade-off of the encoder only).
        container_format: container name when the file name does not tell it.

    Raises:
        ValueError: ``frames`` is not non-empty uint8 ``(T, H, W)`` or ``crf``
            is outside 0..51 (the message names ``path``).
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 3 or len(frames) == 0:
        raise ValueError(
            f"{path}: ROI frames must be non-empty uint8 (T, H, W), "
            f"got {frames.dtype} {frames.shape}"
        )
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"{path}: x264 CRF must be in 0..51, got {crf}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=container_format) as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "gray"
        vs.thread_count = 1
        vs.codec_context.color_range = _AVCOL_RANGE_JPEG
        vs.options = {
            "crf": str(int(crf)),
            "preset": preset,
            "threads": "1",
            **_x264_reproducible_params(),
        }
        vs.codec_context.time_base = Fraction(1, fps)
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="gray")
            frame.color_range = _AVCOL_RANGE_JPEG
            for packet in vs.encode(frame):
                c.mux(packet)
        for packet in vs.encode():
            c.mux(packet)


def _luma(frame: "av.VideoFrame") -> np.ndarray:
    """``uint8 (H, W)`` full-range grey levels of a decoded frame."""
    name = frame.format.name
    if name in _FULL_RANGE_FORMATS or name in _LIMITED_FORMATS:
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
        y = y[:, : frame.width]
        full = name in _FULL_RANGE_FORMATS or (
            int(getattr(frame, "color_range", 0) or 0) == _AVCOL_RANGE_JPEG
        )
        return y.copy() if full else _LIMITED_TO_FULL[y]
    return frame.to_ndarray(format="gray")


def read_roi(path: PathLike) -> np.ndarray:
    """Decode an ROI video to ``uint8 (T, H, W)`` grey frames, on one thread.

    Raises:
        MediaError: missing or corrupt file, no video stream, no frames; the
            message starts with the path.
    """
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = c.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.thread_count = 1
        frames = []
        try:
            for frame in c.decode(stream):
                frames.append(_luma(frame))
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: corrupt video stream ({e})") from e
    if not frames:
        raise MediaError(f"{path}: no decodable video frames")
    return np.stack(frames)
