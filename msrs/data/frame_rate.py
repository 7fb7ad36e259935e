"""Frame-rate conversion to msrs' 25 fps (videos of other rates: 30, 29.97, 50, 60 ...).

Sample-and-hold: output frame ``k`` (time ``k / dst_fps``) is the source frame
on screen at that time, ``floor(k * src_fps / dst_fps)``; a clip of ``n``
source frames gives ``ceil(n * dst_fps / src_fps)`` frames, so its duration is
kept.  Frames are dropped (faster sources) or repeated (slower ones), never
blended: a blend of two mouth shapes is not a mouth shape.  Assumes a constant
frame rate (the container's average rate).
"""

import math
from typing import Iterable, Iterator, List, Sequence, TypeVar

T = TypeVar("T")

_EPS = 1e-9


def source_index(k: int, src_fps: float, dst_fps: float) -> int:
    """Source frame shown at output frame ``k``."""
    return int(math.floor(k * src_fps / dst_fps + _EPS))


def resampled_length(num_src: int, src_fps: float, dst_fps: float) -> int:
    """Output frames for ``num_src`` source frames."""
    return int(math.ceil(num_src * dst_fps / src_fps - _EPS))


def resample_stream(frames: Iterable[T], src_fps: float, dst_fps: float = 25.0) -> Iterator[T]:
    """Resample a stream of frames lazily (memory: one frame).

    Args:
        frames: source frames in order (any objects: arrays, keypoints ...).
        src_fps: source frame rate (> 0).
        dst_fps: output frame rate.
    """
    if src_fps <= 0 or dst_fps <= 0:
        raise ValueError(f"frame rates must be > 0, got {src_fps} -> {dst_fps}")
    k = 0
    for i, frame in enumerate(frames):
        while source_index(k, src_fps, dst_fps) == i:
            yield frame
            k += 1


def resample_list(frames: Sequence[T], src_fps: float, dst_fps: float = 25.0) -> List[T]:
    """:func:`resample_stream` of an in-memory sequence."""
    return list(resample_stream(frames, src_fps, dst_fps))
