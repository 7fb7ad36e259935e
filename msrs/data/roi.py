"""Mouth ROIs from frames: keypoints -> fill gaps -> smooth -> align -> crop.

Three sources of keypoints (:class:`RoiConfig`):

- ``detector="mediapipe"``: detect on every ``detect_every``-th frame (and the
  last), optionally on a downscaled copy (``detect_max_side``); frames in
  between and missed frames are linearly interpolated (:func:`landmarks.fill_gaps`);
- precomputed landmarks (``--landmarks_dir``), one entry per frame;
- ``detector="none"``: the video already shows an aligned mouth; frames are
  centre-cropped and resized (:func:`align.center_crop_resize`).

Keypoints are then smoothed over ``2 * smooth_margin + 1`` frames and each
frame is warped to the reference face and cropped to ``crop_size`` square,
grayscale ``uint8``.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from msrs.data.align import REFERENCE, center_crop_resize, mouth_crop_matrix
from msrs.data.landmarks import NoFaceError, fill_gaps, smooth


@dataclass
class RoiConfig:
    """Mouth-ROI settings (defaults: the Auto-AVSR-like MediaPipe pipeline).

    Attributes:
        detector: ``mediapipe`` or ``none`` (already-aligned mouth videos).
        face_models: MediaPipe models tried in order (``short``, ``full``).
        min_confidence: detection threshold.
        detect_every: run the detector on every k-th frame and interpolate (1 = all).
        detect_max_side: downscale frames whose longer side exceeds this before
            detection (0 = never); keypoints are scaled back.
        smooth_margin: keypoint smoothing half-window in frames (0 = off).
        recenter: keep the per-frame keypoint centroid after smoothing.
        crop_size: output side in pixels.
        crop_scale: zoom relative to the reference (1.0 = 64 px inter-ocular distance).
    """

    detector: str = "mediapipe"
    face_models: Tuple[str, ...] = ("short", "full")
    min_confidence: float = 0.5
    detect_every: int = 1
    detect_max_side: int = 0
    smooth_margin: int = 6
    recenter: bool = True
    crop_size: int = 96
    crop_scale: float = 1.0

    def __post_init__(self):
        if self.detector not in ("mediapipe", "none"):
            raise ValueError(
                f"--detector: unknown detector {self.detector!r}; "
                "choose mediapipe or none"
            )
        if self.detect_every < 1:
            raise ValueError(f"--detect_every must be >= 1, got {self.detect_every}")
        if self.crop_size < 8 or self.crop_size % 2:
            raise ValueError(
                f"--crop_size must be an even number >= 8, got {self.crop_size}"
            )


class Timers:
    """Accumulated wall time per stage (seconds) and processed frame count."""

    STAGES = ("init", "decode", "detect", "align", "write")

    def __init__(self):
        self.seconds: Dict[str, float] = {s: 0.0 for s in self.STAGES}
        self.frames = 0

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = (
                self.seconds.get(stage, 0.0) + time.perf_counter() - t0
            )

    def add(self, other: "Timers") -> None:
        for k, v in other.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v
        self.frames += other.frames


class MouthRoiExtractor:
    """Stateful helper holding the detector; one per worker process.

    Args:
        config: ROI settings (default :class:`RoiConfig`).
        timers: where stage times are accumulated (a new :class:`Timers` if None).
    """

    def __init__(
        self, config: Optional[RoiConfig] = None, timers: Optional[Timers] = None
    ):
        self.config = config or RoiConfig()
        self.timers = timers or Timers()
        self._detector = None

    @property
    def detector(self):
        if self._detector is None and self.config.detector != "none":
            from msrs.data.face_detect import build_detector

            with self.timers("init"):
                self._detector = build_detector(
                    self.config.detector,
                    models=tuple(self.config.face_models),
                    min_confidence=self.config.min_confidence,
                )
        return self._detector

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> "MouthRoiExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray) -> Optional[np.ndarray]:
        """Keypoints ``(4, 2)`` of one RGB frame (``None``: no face)."""
        detector = self.detector  # loading the models counts as "init", not "detect"
        with self.timers("detect"):
            limit = self.config.detect_max_side
            h, w = rgb.shape[:2]
            factor = 1.0
            if limit and max(h, w) > limit:
                factor = limit / max(h, w)
                rgb = cv2.resize(
                    rgb,
                    (round(w * factor), round(h * factor)),
                    interpolation=cv2.INTER_AREA,
                )
            kp = detector.detect(rgb)
            return None if kp is None else kp / factor

    def should_detect(self, index: int) -> bool:
        """Whether frame ``index`` (0-based, in the recording) gets a detector call."""
        return index % self.config.detect_every == 0

    def smooth_track(self, track: Sequence[Optional[np.ndarray]]) -> np.ndarray:
        """Gap-filled, smoothed keypoints ``(T, 4, 2)`` used for cropping.

        Raises:
            NoFaceError: no keypoints in any frame.
        """
        return smooth(fill_gaps(track), self.config.smooth_margin, self.config.recenter)

    def detect_track(self, frames: np.ndarray) -> List[Optional[np.ndarray]]:
        """Detections on every ``detect_every``-th and the last frame (others None)."""
        n = len(frames)
        return [
            self.detect(frames[t]) if (self.should_detect(t) or t == n - 1) else None
            for t in range(n)
        ]

    def crop(
        self, gray: Sequence[np.ndarray], track: Sequence[Optional[np.ndarray]]
    ) -> np.ndarray:
        """Fill, smooth and crop.

        Args:
            gray: ``T`` frames ``uint8 (H, W)``.
            track: ``T`` keypoint arrays ``(4, 2)`` or ``None``.

        Returns:
            ``uint8 (T, crop_size, crop_size)``.

        Raises:
            NoFaceError: no keypoints in any frame.
        """
        cfg = self.config
        with self.timers("align"):
            full = self.smooth_track(track)
            out = np.empty((len(gray), cfg.crop_size, cfg.crop_size), np.uint8)
            for t, frame in enumerate(gray):
                m = mouth_crop_matrix(full[t], cfg.crop_size, REFERENCE, cfg.crop_scale)
                out[t] = cv2.warpAffine(
                    frame,
                    m,
                    (cfg.crop_size, cfg.crop_size),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE,
                )
        return out

    def crop_aligned(self, gray: Sequence[np.ndarray]) -> np.ndarray:
        """``detector=none``: centre crop and resize each frame."""
        with self.timers("align"):
            return np.stack(
                [center_crop_resize(f, self.config.crop_size) for f in gray]
            )

    def extract(
        self,
        rgb_frames: np.ndarray,
        landmarks: Optional[List[Optional[np.ndarray]]] = None,
    ) -> np.ndarray:
        """ROIs of an in-memory clip ``uint8 (T, H, W, 3)`` (or gray ``(T, H, W)``).

        Uses ``landmarks`` if given, else the detector (every ``detect_every``-th
        frame plus the last one), else centre crops for ``detector=none``.
        """
        frames = np.asarray(rgb_frames)
        gray = (
            frames
            if frames.ndim == 3
            else np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
        )
        if landmarks is not None:
            track = list(landmarks)[: len(gray)]
            track += [None] * (len(gray) - len(track))
            return self.crop(gray, track)
        if self.config.detector == "none":
            return self.crop_aligned(gray)
        return self.crop(gray, self.detect_track(frames))


__all__ = ["RoiConfig", "MouthRoiExtractor", "Timers", "NoFaceError"]
