"""Offline face detectors returning the four alignment keypoints.

Default: MediaPipe's BlazeFace detectors through the MediaPipe Tasks API
(``mediapipe`` 1.x works with numpy 2).  The ``.tflite`` models are
Apache-2.0 and are extracted from the mediapipe 0.10.21 wheel at install time
by ``tools/fetch_models.py`` into ``$MSRS_MODELS/mediapipe`` (default
``<repo>/tools/models/mediapipe``), so detection needs no network.  Each
detection has six keypoints (eyes, nose tip, mouth centre, ear tragions); the
first four drive alignment, as in Auto-AVSR's MediaPipe variant.

Why this detector: it is the only option found that installs from a registry,
runs offline, supports numpy 2 and has a permissive licence (dlib's 68-point
model is trained on iBUG 300-W, whose licence excludes commercial use; OpenCV 5
has no Haar cascades; RetinaFace/FAN download weights at run time).
"""

import contextlib
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Type

import numpy as np

logger = logging.getLogger(__name__)

MODEL_FILES = {
    "short": "face_detection_short_range.tflite",
    "full": "face_detection_full_range_sparse.tflite",
}


def models_dir() -> Path:
    """``$MSRS_MODELS`` if set, else ``<repo>/tools/models`` next to the package."""
    env = os.environ.get("MSRS_MODELS")
    if env:
        return Path(env)
    import msrs

    return Path(msrs.__file__).resolve().parent.parent / "tools" / "models"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C++ logging written to file descriptor 2 (MediaPipe/LiteRT chatter).

    What was written is passed to ``logging`` at DEBUG level.
    """
    try:
        fd = os.dup(2)
    except OSError:  # no real stderr (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 2)
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)
            tmp.seek(0)
            chatter = tmp.read().decode("utf-8", "replace").strip()
            if chatter:
                logger.debug("native log output:\n%s", chatter)


class AbsFaceDetector(ABC):
    """Finds the main face in an RGB frame."""

    @abstractmethod
    def detect(self, frame: np.ndarray) -> Optional[np.ndarray]:
        """Return ``(4, 2)`` keypoints (pixels) of the largest face, or ``None``.

        Args:
            frame: ``uint8 (H, W, 3)`` RGB (or ``(H, W)`` gray).
        """

    def close(self) -> None:
        """Release native resources."""

    def __enter__(self) -> "AbsFaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MediaPipeFaceDetector(AbsFaceDetector):
    """BlazeFace through MediaPipe Tasks, with model fallback.

    Args:
        models: detector models tried in order until one finds a face:
            ``short`` (faces filling much of the frame, ~3 ms on a CPU core) and/or
            ``full`` (smaller faces, ~7 ms).  Default ``("short", "full")``: LRS3
            frames are face crops, so the short-range model nearly always
            answers and the full-range one only handles its misses.
        min_confidence: detection score threshold (0.5, as Auto-AVSR).
        model_dir: directory holding the ``.tflite`` files (default
            ``models_dir() / "mediapipe"``).
    """

    def __init__(
        self,
        models: Sequence[str] = ("short", "full"),
        min_confidence: float = 0.5,
        model_dir: Optional[os.PathLike] = None,
    ):
        bad = [m for m in models if m not in MODEL_FILES]
        if bad or not models:
            raise ValueError(
                f"unknown MediaPipe face model(s) {bad}; "
                f"choose from {sorted(MODEL_FILES)}"
            )
        directory = Path(model_dir) if model_dir else models_dir() / "mediapipe"
        paths = [directory / MODEL_FILES[m] for m in models]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"face model(s) not found: {', '.join(missing)}; run 'make -C tools' "
                "(tools/fetch_models.py) or set MSRS_MODELS"
            )
        with quiet_stderr():
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision

            self._mp = mp
            self._detectors = [
                vision.FaceDetector.create_from_options(
                    vision.FaceDetectorOptions(
                        base_options=BaseOptions(model_asset_path=str(p)),
                        running_mode=vision.RunningMode.IMAGE,
                        min_detection_confidence=float(min_confidence),
                    )
                )
                for p in paths
            ]
        self._warm = False

    def detect(self, frame: np.ndarray) -> Optional[np.ndarray]:
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        h, w = frame.shape[:2]
        image = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame)
        )
        for det in self._detectors:
            if not self._warm:
                with quiet_stderr():
                    result = det.detect(image)
            else:
                result = det.detect(image)
            if result.detections:
                best = max(
                    result.detections,
                    key=lambda d: d.bounding_box.width * d.bounding_box.height,
                )
                kps = best.keypoints
                if len(kps) >= 4:
                    self._warm = True
                    return np.array(
                        [[k.x * w, k.y * h] for k in kps[:4]], dtype=np.float64
                    )
        self._warm = True
        return None

    def close(self) -> None:
        with quiet_stderr():
            for det in self._detectors:
                det.close()
        self._detectors = []


DETECTORS: Dict[str, Type[AbsFaceDetector]] = {"mediapipe": MediaPipeFaceDetector}


def build_detector(name: str, **kwargs) -> AbsFaceDetector:
    """Instantiate a registered detector (``mediapipe``)."""
    if name not in DETECTORS:
        raise ValueError(
            f"--detector: unknown detector {name!r}; "
            f"choose from {sorted(DETECTORS)} or 'none'"
        )
    return DETECTORS[name](**kwargs)


def available_models() -> List[str]:
    """Names of MediaPipe models present on this machine."""
    d = models_dir() / "mediapipe"
    return [k for k, f in MODEL_FILES.items() if (d / f).is_file()]
