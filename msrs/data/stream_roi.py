"""Mouth ROIs of a whole video, window by window (``msrs.bin.transcribe``).

Stage 2 (:mod:`msrs.data.extract`) writes ROIs of a data directory to disk;
here one media file of any length, frame rate and resolution is turned into
ROIs in memory, one window at a time, so memory is bounded by a window of
grey frames (not the whole video):

1. :func:`plan_windows` cuts the 25 fps timeline into windows of at most
   ``window`` frames, each cut placed at the quietest frame (lowest audio
   energy) of the last ``search`` frames before the limit -- a pause, when
   the speaker makes one -- or at the limit without audio;
2. :func:`iter_window_rois` decodes the video once (resampled to 25 fps when
   it is not, :mod:`msrs.data.frame_rate`), detects the face as stage 2 does
   (every ``detect_every``-th frame and each window's last frame) and yields
   each window's ``uint8 (T, S, S)`` crops as soon as the window is complete.
"""

from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from msrs.data import video_io
from msrs.data.frame_rate import resample_stream, resampled_length
from msrs.data.landmarks import NoFaceError
from msrs.data.roi import MouthRoiExtractor

FPS = 25
SAMPLES_PER_FRAME = 640

Window = Tuple[int, int]  # [start, end) in 25 fps frames


def frame_energy(audio: np.ndarray, num_frames: int) -> np.ndarray:
    """Mean power of the audio under each 40 ms video frame, ``(num_frames,)``."""
    a = np.zeros(num_frames * SAMPLES_PER_FRAME, np.float32)
    n = min(len(a), len(audio))
    a[:n] = audio[:n]
    return (a.reshape(num_frames, SAMPLES_PER_FRAME) ** 2).mean(axis=1)


def plan_windows(
    num_frames: int, window: int, search: int = 0, energy: Optional[np.ndarray] = None
) -> List[Window]:
    """Cut ``[0, num_frames)`` into windows of at most ``window`` frames.

    Args:
        num_frames: length of the clip in 25 fps frames.
        window: longest window (frames); ``<= 0``: one window.
        search: a cut may move up to this many frames earlier, to the
            quietest frame (``energy``); 0: fixed windows.
        energy: per-frame audio power (:func:`frame_energy`), or None.

    Returns:
        consecutive ``(start, end)`` pairs covering the clip.
    """
    if num_frames <= 0:
        return []
    if window <= 0 or num_frames <= window:
        return [(0, num_frames)]
    search = max(0, min(search, window // 2))
    out, start = [], 0
    while num_frames - start > window:
        cut = start + window
        if energy is not None and search > 0:
            lo = cut - search
            cut = lo + int(np.argmin(energy[lo : cut + 1])) if cut < len(energy) else cut
            cut = max(cut, lo)
        out.append((start, cut))
        start = cut
    out.append((start, num_frames))
    return out


def count_frames(path: Union[str, "object"]) -> Tuple[int, float]:
    """``(frames at 25 fps, source fps)`` of a video from its header and packets."""
    info = video_io.probe(path)
    if info.num_frames == 0:
        raise video_io.MediaError(f"{path}: no video frames")
    fps = info.fps or FPS
    return resampled_length(info.num_frames, fps, FPS), fps


def iter_window_rois(
    path, extractor: MouthRoiExtractor, windows: Sequence[Window], src_fps: float
) -> Iterator[Tuple[int, Union[np.ndarray, NoFaceError]]]:
    """Yield ``(window index, ROIs uint8 (T, S, S))`` in order.

    A window without a face in any frame yields the :class:`NoFaceError`
    instead (the caller decides); frames past the last window are ignored.
    Timings go to ``extractor.timers`` (``decode``, ``detect``, ``align``).
    """
    use_detector = extractor.config.detector != "none"
    frames = video_io.iter_video(path, gray=not use_detector)
    if abs(src_fps - FPS) > 0.01:
        frames = resample_stream(frames, src_fps, FPS)
    k, n = 0, 0
    gray: List[np.ndarray] = []
    track: List[Optional[np.ndarray]] = []
    timers = extractor.timers
    while k < len(windows):
        with timers("decode"):
            frame = next(frames, None)
        start, end = windows[k]
        last = frame is None or n == end - 1
        if frame is not None:
            g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if use_detector else frame
            kp = None
            if use_detector and (extractor.should_detect(n - start) or last):
                kp = extractor.detect(frame)
            gray.append(g)
            track.append(kp)
            n += 1
        if last:
            if gray:
                try:
                    if use_detector:
                        yield k, extractor.crop(gray, track)
                    else:
                        yield k, extractor.crop_aligned(gray)
                except NoFaceError as e:
                    yield k, e
            gray, track = [], []
            k += 1
            if frame is None:
                break
