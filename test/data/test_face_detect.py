"""MediaPipe face detection from the offline models, on a real photo from a package."""

import numpy as np
import pytest
from skimage import data

from msrs.data.face_detect import (
    MediaPipeFaceDetector,
    available_models,
    build_detector,
    models_dir,
)


@pytest.fixture(scope="module")
def detector():
    with MediaPipeFaceDetector() as det:
        yield det


def test_models_are_installed():
    assert set(available_models()) == {
        "short",
        "full",
    }, f"run make -C tools (looked in {models_dir()})"


def test_finds_the_astronaut_face(detector):
    kp = detector.detect(data.astronaut())
    assert kp.shape == (4, 2)
    # eyes, nose tip, mouth of Eileen Collins in the 512x512 photo
    expected = np.array(
        [[201.5, 104.9], [245.8, 109.1], [220.4, 127.3], [219.8, 148.6]]
    )
    assert np.abs(kp - expected).max() < 6.0
    # gray input works too
    gray = data.astronaut().mean(axis=2).astype(np.uint8)
    assert (
        np.abs(detector.detect(gray) - expected).max() < 12.0
    )  # a quarter of the eye distance


def test_no_face_returns_none(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.zeros((128, 128, 3), np.uint8)) is None
    assert detector.detect(rng.integers(0, 255, (160, 160, 3), dtype=np.uint8)) is None


def test_full_range_model_alone(tmp_path):
    with build_detector("mediapipe", models=("full",)) as det:
        kp = det.detect(data.astronaut())
    assert np.linalg.norm(kp[3] - [219.8, 148.6]) < 8.0


def test_clear_errors_for_missing_models_and_bad_names(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="face_detection_short_range.tflite.*make -C tools"
    ):
        MediaPipeFaceDetector(model_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown MediaPipe face model"):
        MediaPipeFaceDetector(models=("tiny",))
    with pytest.raises(ValueError, match="--detector: unknown detector 'dlib'"):
        build_detector("dlib")
