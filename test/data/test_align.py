"""Similarity alignment to the reference face and mouth cropping."""

import math

import numpy as np
import pytest

from msrs.data.align import (
    REFERENCE,
    center_crop_resize,
    crop_mouth,
    map_points,
    mouth_crop_matrix,
    similarity_transform,
)


def _similarity(scale, angle_deg, tx, ty):
    a = math.radians(angle_deg)
    return np.array(
        [
            [scale * math.cos(a), -scale * math.sin(a), tx],
            [scale * math.sin(a), scale * math.cos(a), ty],
        ]
    )


def test_similarity_transform_recovers_a_known_transform():
    m = _similarity(0.7, 12.0, 30.0, -5.0)
    src = REFERENCE + np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5], [-2.0, 1.0]])
    est = similarity_transform(src, map_points(m, src))
    np.testing.assert_allclose(est, m, atol=1e-9)
    with pytest.raises(ValueError, match="degenerate"):
        similarity_transform(np.zeros((4, 2)), REFERENCE)


def test_crop_is_centred_on_the_mouth_and_normalises_scale_and_roll():
    # a frame of a face at 0.5x scale, rolled by 20 degrees, with a bright mouth dot
    m = _similarity(0.5, 20.0, 40.0, 10.0)
    kp = map_points(m, REFERENCE)
    frame = np.zeros((200, 200), np.uint8)
    mx, my = kp[3]
    frame[
        int(round(my)) - 1 : int(round(my)) + 2, int(round(mx)) - 1 : int(round(mx)) + 2
    ] = 255
    crop = crop_mouth(frame, kp, size=96)
    assert crop.shape == (96, 96) and crop.dtype == np.uint8
    ys, xs = np.nonzero(crop > 64)
    assert abs(xs.mean() - 47.5) < 1.5 and abs(ys.mean() - 47.5) < 1.5
    # the crop matrix maps the eyes to the reference inter-ocular distance (64 px)
    c = mouth_crop_matrix(kp, 96)
    eyes = map_points(c, kp[:2])
    assert np.linalg.norm(eyes[1] - eyes[0]) == pytest.approx(64.0)
    assert abs(eyes[1, 1] - eyes[0, 1]) < 1e-6  # roll removed


def test_center_crop_resize():
    frame = np.arange(120 * 160, dtype=np.uint32).reshape(120, 160).astype(np.uint8)
    out = center_crop_resize(frame, 96)
    assert out.shape == (96, 96)
    rgb = np.zeros((50, 70, 3), np.uint8)
    assert center_crop_resize(rgb, 96).shape == (96, 96, 3)
