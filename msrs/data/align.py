"""Similarity alignment of faces to a reference and 96x96 mouth cropping.

Reference (our choice, no published mean face is used): the four keypoints of
:mod:`msrs.data.landmarks` on a 256x256 canvas -- eyes at (96, 100) and
(160, 100) (inter-ocular distance 64 px), nose tip at (128, 132) and mouth
centre at (128, 164), i.e. typical adult proportions (nose tip half an
inter-ocular distance below the eyes, mouth one distance below).  A frame is
mapped onto the reference with the least-squares similarity transform of its
keypoints (rotation, uniform scale, translation; Umeyama's closed form), and
the ``size x size`` crop is centred on the mapped mouth centre, in one
``cv2.warpAffine`` per frame.  With the default 64 px inter-ocular distance a
neutral mouth spans about half of a 96 px crop, nostrils at the top edge.
"""

import cv2
import numpy as np

REFERENCE = np.array([[96.0, 100.0], [160.0, 100.0], [128.0, 132.0], [128.0, 164.0]])
MOUTH = 3  # index of the mouth centre in the keypoints


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``2x3`` matrix mapping ``src`` points onto ``dst``.

    Args:
        src: ``(K, 2)`` points, K >= 2.
        dst: ``(K, 2)`` points.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    norm = (s**2).sum()
    if norm < 1e-12:
        raise ValueError("degenerate keypoints (all at one point)")
    a = (s * d).sum() / norm
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / norm
    rot = np.array([[a, -b], [b, a]])
    return np.concatenate([rot, (md - rot @ ms)[:, None]], axis=1)


def mouth_crop_matrix(
    keypoints: np.ndarray,
    size: int = 96,
    reference: np.ndarray = REFERENCE,
    scale: float = 1.0,
) -> np.ndarray:
    """``2x3`` matrix mapping frame pixels to the ``size x size`` mouth crop.

    Args:
        keypoints: ``(4, 2)`` frame keypoints.
        size: crop side in pixels.
        reference: ``(4, 2)`` reference keypoints.
        scale: zoom factor on top of the reference (>1 shows a smaller region).
    """
    m = similarity_transform(keypoints, reference)
    m[:, :2] *= scale
    m[:, 2] *= scale
    centre = m[:, :2] @ keypoints[MOUTH] + m[:, 2]
    m[:, 2] += size / 2.0 - centre
    return m


def crop_mouth(
    frame: np.ndarray,
    keypoints: np.ndarray,
    size: int = 96,
    reference: np.ndarray = REFERENCE,
    scale: float = 1.0,
) -> np.ndarray:
    """Aligned ``(size, size)`` mouth crop of one frame (same dtype/channels)."""
    m = mouth_crop_matrix(keypoints, size, reference, scale)
    return cv2.warpAffine(
        frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def center_crop_resize(frame: np.ndarray, size: int = 96) -> np.ndarray:
    """Centre square crop then resize to ``size`` (for already-aligned mouth videos)."""
    h, w = frame.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    sq = frame[y0 : y0 + side, x0 : x0 + side]
    if side == size:
        return np.ascontiguousarray(sq)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(sq, (size, size), interpolation=interp)


def map_points(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``2x3`` affine matrix to ``(K, 2)`` points."""
    return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]
