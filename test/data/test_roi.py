"""Mouth-ROI extraction on frames of a real face photo (scikit-image's astronaut)."""

import numpy as np
import pytest

from msrs.data.align import REFERENCE, mouth_crop_matrix, map_points
from msrs.data.landmarks import NoFaceError
from msrs.data.roi import MouthRoiExtractor, RoiConfig


@pytest.fixture(scope="module")
def extractor():
    with MouthRoiExtractor(RoiConfig()) as ex:
        yield ex


def test_roi_of_a_real_photo_is_aligned_on_the_true_mouth(extractor, astronaut_clip):
    frames, truth = astronaut_clip
    roi = extractor.extract(frames)
    assert roi.shape == (len(frames), 96, 96) and roi.dtype == np.uint8
    raw = extractor.detect_track(frames)
    assert all(k is not None for k in raw), "the face must be found in every frame"
    track = extractor.smooth_track(raw)
    for t in range(len(frames)):
        m = mouth_crop_matrix(track[t], 96)
        mouth = map_points(m, truth[t][3:4])[0]
        eyes = map_points(m, truth[t][:2])
        # the true mouth lands within a few pixels of the crop centre, the true
        # eyes 64 px apart (the reference scale) and level (roll removed)
        assert np.linalg.norm(mouth - 48.0) < 6.0, (t, mouth)
        assert np.linalg.norm(eyes[1] - eyes[0]) == pytest.approx(64.0, rel=0.1)
        assert abs(eyes[1, 1] - eyes[0, 1]) < 4.0
    # the crop shows the lips: darker than the skin around them
    centre = roi[:, 40:56, 30:66].astype(float).mean()
    cheeks = roi[:, 40:56, :12].astype(float).mean()
    assert centre < cheeks - 15


def test_detecting_every_third_frame_gives_nearly_the_same_roi(astronaut_clip):
    frames, _ = astronaut_clip
    with MouthRoiExtractor(RoiConfig(detect_every=1)) as a, MouthRoiExtractor(
        RoiConfig(detect_every=3)
    ) as b:
        ra, rb = a.extract(frames), b.extract(frames)
        calls_a = a.timers.seconds["detect"]
        calls_b = b.timers.seconds["detect"]
    assert np.abs(ra.astype(float) - rb).mean() < 4.0
    assert calls_b < calls_a


def test_no_face_raises(extractor):
    blank = np.full((10, 120, 120, 3), 128, np.uint8)
    with pytest.raises(NoFaceError, match="no face detected in any of 10 frames"):
        extractor.extract(blank)


def test_detector_none_takes_aligned_mouth_videos():
    frames = np.random.default_rng(0).integers(0, 255, (4, 120, 160), dtype=np.uint8)
    with MouthRoiExtractor(RoiConfig(detector="none")) as ex:
        roi = ex.extract(frames)
    assert roi.shape == (4, 96, 96)


def test_config_errors():
    with pytest.raises(ValueError, match="--detector: unknown detector 'haar'"):
        RoiConfig(detector="haar")
    with pytest.raises(ValueError, match="--detect_every"):
        RoiConfig(detect_every=0)
    assert REFERENCE.shape == (4, 2)
