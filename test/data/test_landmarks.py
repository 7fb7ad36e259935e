"""Keypoint conversion, landmark files, gap filling and smoothing."""

import pickle

import numpy as np
import pytest

from msrs.data.landmarks import (
    NoFaceError,
    fill_gaps,
    load_landmarks,
    smooth,
    to_keypoints,
)


def _ibug68(offset=(0.0, 0.0)):
    pts = np.zeros((68, 2))
    pts[36:42] = [100, 100]
    pts[42:48] = [160, 104]
    pts[30] = [130, 130]
    pts[48:68] = [131, 165]
    return pts + np.asarray(offset)


def test_to_keypoints_layouts():
    kp = to_keypoints(_ibug68())
    np.testing.assert_allclose(kp, [[100, 100], [160, 104], [130, 130], [131, 165]])
    six = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(to_keypoints(six), six[:4])
    with pytest.raises(ValueError, match="unsupported landmark layout with 5 points"):
        to_keypoints(np.zeros((5, 2)))


def test_fill_gaps_interpolates_and_holds_ends():
    a, b = np.zeros((4, 2)), np.full((4, 2), 10.0)
    out = fill_gaps([None, a, None, None, None, b, None])
    assert out.shape == (7, 4, 2)
    np.testing.assert_allclose(out[:, 0, 0], [0, 0, 2.5, 5, 7.5, 10, 10])


def test_fill_gaps_without_any_face():
    with pytest.raises(NoFaceError, match="no face detected in any of 3 frames"):
        fill_gaps([None, None, None])


def test_smooth_keeps_a_static_face_and_reduces_jitter():
    rng = np.random.default_rng(0)
    base = np.tile(to_keypoints(_ibug68())[None], (50, 1, 1))
    np.testing.assert_allclose(smooth(base, 6), base)
    noisy = base + rng.normal(0, 2.0, base.shape)
    sm = smooth(noisy, 6, recenter=False)
    assert np.abs(sm - base).mean() < 0.5 * np.abs(noisy - base).mean()
    # recentring keeps each frame's centroid
    rc = smooth(noisy, 6, recenter=True)
    np.testing.assert_allclose(rc.mean(axis=1), noisy.mean(axis=1))
    np.testing.assert_allclose(smooth(noisy, 0), noisy)


def test_load_autoavsr_pickle_and_npy(tmp_path):
    frames = [_ibug68(), None, _ibug68((2, 0))]
    pkl = tmp_path / "a.pkl"
    pkl.write_bytes(pickle.dumps(frames))
    track = load_landmarks(pkl)
    assert track[1] is None and track[0].shape == (4, 2)
    np.testing.assert_allclose(track[2][3], [133, 165])
    arr = np.stack([_ibug68(), np.full((68, 2), np.nan)])
    np.save(tmp_path / "b.npy", arr)
    track = load_landmarks(tmp_path / "b.npy")
    assert track[1] is None and track[0].shape == (4, 2)


def test_corrupt_landmark_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="bad.pkl: cannot read landmarks"):
        load_landmarks(bad)
