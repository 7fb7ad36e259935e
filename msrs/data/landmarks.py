"""Facial keypoint tracks: conversion, loading, gap filling and smoothing.

msrs aligns faces with four keypoints, in MediaPipe face detector order
(:data:`KEYPOINTS`): right eye, left eye, nose tip, mouth centre ("right" is the
subject's right, i.e. the eye on the image's left).  Other layouts convert:

- 68-point iBUG/300-W (dlib, FAN; Auto-AVSR's published ``LRS3_landmarks``):
  eye centres = means of points 36-41 and 42-47, nose tip = point 30, mouth
  centre = mean of points 48-67;
- MediaPipe face detector (6 points): the first four;
- 4 points: used as they are.

Tracks are ``float (T, 4, 2)`` pixel coordinates ``(x, y)``.
"""

import pickle
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre")

PathLike = Union[str, Path]


class NoFaceError(ValueError):
    """No face (landmarks) in any frame of a sequence."""


class LandmarkCoverageError(ValueError):
    """Too many recordings have no precomputed landmark file."""


def find_landmark_file(landmarks_dir: PathLike, media: PathLike) -> Optional[Path]:
    """Landmark file of a recording, mirroring the corpus layout.

    Tries ``<dir>/<split>/<speaker>/<clip>``, ``<dir>/<speaker>/<clip>`` and
    ``<dir>/<clip>`` (the last 3, 2, 1 components of the media path) with the
    suffixes ``.pkl`` and ``.npy``.  Auto-AVSR's ``LRS3_landmarks`` unpacks to
    the first form.
    """
    parts = Path(media).with_suffix("").parts
    for k in (3, 2, 1):
        if len(parts) < k:
            continue
        for suffix in (".pkl", ".npy"):
            cand = Path(landmarks_dir).joinpath(*parts[-k:]).with_suffix(suffix)
            if cand.is_file():
                return cand
    return None


def check_landmark_coverage(
    landmarks_dir: PathLike, media: Dict[str, str], max_missing: float
) -> Dict[str, str]:
    """Recordings without a landmark file; raise if they are too many.

    Args:
        landmarks_dir: root of the precomputed landmarks.
        media: recording id -> media path.
        max_missing: largest tolerated share of recordings without a file
            (0..1; the extraction falls back to the face detector for them).

    Returns:
        recording id -> media path of the recordings without a file.

    Raises:
        LandmarkCoverageError: more than ``max_missing`` of the recordings have
            no file; the message gives the counts, one media path and where
            its file was looked for.
    """
    missing = {
        r: str(m) for r, m in media.items() if find_landmark_file(landmarks_dir, m) is None
    }
    if media and len(missing) > max_missing * len(media):
        rec, path = sorted(missing.items())[0]
        tail = Path(path).with_suffix("").parts[-3:]
        raise LandmarkCoverageError(
            f"--landmarks_dir {landmarks_dir}: no landmark file for {len(missing)} of "
            f"{len(media)} recordings ({100 * len(missing) / len(media):.1f}%, more "
            f"than --max_missing_landmarks {max_missing:g}); e.g. {rec} ({path}) "
            f"was looked up as {Path(landmarks_dir).joinpath(*tail)}.pkl|.npy and "
            "shorter forms.  Is it the root of the unpacked landmarks (holding "
            "pretrain/ trainval/ test/)?  Raise --max_missing_landmarks to let "
            "the face detector fill in."
        )
    return missing


def to_keypoints(points: np.ndarray) -> np.ndarray:
    """Convert one frame's landmarks to the four keypoints, ``(4, 2)`` float64.

    Args:
        points: ``(68, 2)``, ``(6, 2)`` or ``(4, 2)`` (extra columns ignored).

    Raises:
        ValueError: another layout.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"landmarks must be (K, 2), got shape {p.shape}")
    p = p[:, :2]
    if p.shape[0] == 68:
        return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48:68].mean(0)])
    if p.shape[0] in (4, 6):
        return p[:4].copy()
    raise ValueError(
        f"unsupported landmark layout with {p.shape[0]} points (use 68, 6 or 4)"
    )


def load_landmarks(path: PathLike) -> List[Optional[np.ndarray]]:
    """Read a per-frame landmark file.

    Formats:
        ``.pkl``: a pickled sequence with one entry per frame, each ``None`` (no
            face) or an array-like ``(K, 2)`` -- the layout of Auto-AVSR's
            published LRS3 landmarks (K = 68);
        ``.npy``: ``(T, K, 2)`` float with NaN for frames without a face.

    Returns:
        per-frame four-keypoint arrays or ``None``.

    Raises:
        ValueError: unreadable or malformed file (message names the file).
    """
    path = Path(path)
    try:
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            if arr.ndim != 3:
                raise ValueError(f"expected (T, K, 2), got shape {arr.shape}")
            frames = [None if np.isnan(a).any() else a for a in arr]
        else:
            with open(path, "rb") as f:
                frames = pickle.load(f)
            if isinstance(frames, dict):  # {frame_index: landmarks}
                n = max(frames) + 1 if frames else 0
                frames = [frames.get(i) for i in range(n)]
        return [None if lm is None else to_keypoints(np.asarray(lm)) for lm in frames]
    except (
        OSError,
        ValueError,
        pickle.UnpicklingError,
        EOFError,
        TypeError,
        AttributeError,
    ) as e:
        raise ValueError(f"{path}: cannot read landmarks ({e})") from e


def fill_gaps(track: Sequence[Optional[np.ndarray]]) -> np.ndarray:
    """Linearly interpolate frames without landmarks; hold the ends.

    Args:
        track: per-frame ``(K, 2)`` arrays or ``None``.

    Returns:
        ``float64 (T, K, 2)``.

    Raises:
        NoFaceError: no frame has landmarks.
    """
    valid = [i for i, lm in enumerate(track) if lm is not None]
    if not valid:
        raise NoFaceError(f"no face detected in any of {len(track)} frames")
    shape = np.asarray(track[valid[0]]).shape
    known = np.stack([np.asarray(track[i], dtype=np.float64) for i in valid])
    t = np.arange(len(track))
    flat = known.reshape(len(valid), -1)
    out = np.stack(
        [np.interp(t, valid, flat[:, j]) for j in range(flat.shape[1])], axis=1
    )
    return out.reshape((len(track),) + shape)


def smooth(track: np.ndarray, margin: int = 6, recenter: bool = True) -> np.ndarray:
    """Centred moving average over ``2 * margin + 1`` frames (shrinking at the ends).

    Args:
        track: ``(T, K, 2)``.
        margin: frames on each side (0 disables smoothing).  6 (13 frames)
            matches Auto-AVSR's ``window_margin=12`` used as ``12 // 2``.
        recenter: shift each smoothed frame so its keypoint centroid equals the
            unsmoothed one (Auto-AVSR does this): shape, scale and rotation are
            smoothed, translation follows the face.

    Returns:
        ``float64 (T, K, 2)``.
    """
    track = np.asarray(track, dtype=np.float64)
    n = len(track)
    if margin <= 0 or n < 2:
        return track.copy()
    csum = np.concatenate([np.zeros((1,) + track.shape[1:]), np.cumsum(track, axis=0)])
    out = np.empty_like(track)
    for t in range(n):
        m = min(margin, t, n - 1 - t)
        out[t] = (csum[t + m + 1] - csum[t - m]) / (2 * m + 1)
    if recenter:
        out += track.mean(axis=1, keepdims=True) - out.mean(axis=1, keepdims=True)
    return out
