"""Talking-face renderer: an animated mouth composited into a real face photo.

The face is scikit-image's ``astronaut`` photo (Eileen Collins, NASA; public
domain per the scikit-image documentation), which ships inside the
``scikit-image`` wheel, so no download is needed.  Its smiling mouth is
inpainted once; every frame then

1. warps the face into the output frame with a per-frame head pose (smooth
   random translation, rotation and scale around a per-speaker placement);
2. drops the jaw (a smooth displacement of the chin region) with the mouth
   opening;
3. draws the lips, the mouth cavity, teeth and tongue from the frame's mouth
   parameters (:mod:`msrs.data.synth.visemes`) with per-speaker lip geometry and
   colour, anti-aliased at sub-pixel precision;
4. applies a slowly varying illumination gain and gradient, and sensor noise.

It also returns the true per-frame keypoints in MediaPipe's order (right eye,
left eye, nose tip, mouth centre; image coordinates), written as landmark files
so the ``--landmarks_dir`` extraction path can be tested without a detector.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

import cv2
import numpy as np

# Keypoints of the astronaut photo (512x512, x right, y down), measured with
# MediaPipe's face detector: right eye, left eye, nose tip, mouth centre.
_PHOTO_KEYPOINTS = np.array(
    [[201.5, 104.9], [245.8, 109.1], [220.4, 127.3], [221.0, 146.0]], dtype=np.float64
)
_PHOTO_MOUTH_WIDTH = 34.0  # neutral mouth width (px) drawn on this face
_PHOTO_FACE_CENTRE = (223.0, 128.0)
_PHOTO_VIEW = 200.0  # side of the square around the face shown in a frame (px)
_CIRCLE = np.stack(
    [np.cos(np.linspace(0, 2 * np.pi, 36)), np.sin(np.linspace(0, 2 * np.pi, 36))], 1
)


@dataclass
class SpeakerLook:
    """Per-speaker appearance and motion (all knobs are our choices).

    Attributes:
        flip: mirror the face horizontally.
        face_scale: face size multiplier in the frame.
        offset: face placement offset ``(dx, dy)`` in frame pixels.
        skin_tint: RGB gains applied to the photo.
        lip_color: RGB lip colour.
        lip_upper: upper-lip thickness in half-mouth-width units.
        lip_lower: lower-lip thickness in half-mouth-width units.
        mouth_width: neutral mouth width multiplier.
        articulation: multiplier of the mouth opening.
        head_motion: head-motion amplitude multiplier.
        light_var: amplitude of the global illumination change (relative).
        light_grad: amplitude of the horizontal illumination gradient.
        noise_sigma: Gaussian sensor noise (grey levels).
    """

    flip: bool = False
    face_scale: float = 1.0
    offset: Tuple[float, float] = (0.0, 0.0)
    skin_tint: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    lip_color: Tuple[float, float, float] = (165.0, 78.0, 82.0)
    lip_upper: float = 0.26
    lip_lower: float = 0.34
    mouth_width: float = 1.0
    articulation: float = 1.0
    head_motion: float = 1.0
    light_var: float = 0.08
    light_grad: float = 0.10
    noise_sigma: float = 2.5


def sample_look(rng: np.random.Generator) -> SpeakerLook:
    """Draw a speaker look: nuisance that varies but does not hide the lips."""
    skin = rng.uniform(0.75, 1.08)
    lip_g = rng.uniform(50, 90)
    return SpeakerLook(
        flip=bool(rng.integers(2)),
        face_scale=float(rng.uniform(0.92, 1.08)),
        offset=(float(rng.uniform(-8, 8)), float(rng.uniform(-6, 6))),
        skin_tint=(
            float(skin * rng.uniform(0.95, 1.05)),
            float(skin * rng.uniform(0.88, 1.0)),
            float(skin * rng.uniform(0.85, 1.0)),
        ),
        lip_color=(
            float(rng.uniform(125, 185)),
            float(lip_g),
            float(lip_g * rng.uniform(0.95, 1.15)),
        ),
        lip_upper=float(rng.uniform(0.18, 0.32)),
        lip_lower=float(rng.uniform(0.26, 0.42)),
        mouth_width=float(rng.uniform(0.9, 1.1)),
        articulation=float(rng.uniform(0.85, 1.15)),
        head_motion=float(rng.uniform(0.5, 1.5)),
        light_var=float(rng.uniform(0.03, 0.12)),
        light_grad=float(rng.uniform(0.0, 0.2)),
        noise_sigma=float(rng.uniform(1.5, 4.0)),
    )


@lru_cache(maxsize=1)
def _neutral_photo() -> np.ndarray:
    """The astronaut photo with its smiling mouth inpainted (float32 RGB)."""
    from skimage import data

    img = np.ascontiguousarray(data.astronaut())
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (222, 146), (26, 12), 5.0, 0, 360, 255, -1)
    out = cv2.inpaint(img, mask, 7, cv2.INPAINT_TELEA)
    # soften the inpainted patch so it reads as skin
    blur = cv2.GaussianBlur(out, (0, 0), 3.0)
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 4.0)[..., None]
    return (out * (1 - soft) + blur * soft).astype(np.float32)


def _smooth_walk(rng: np.random.Generator, n: int, fps: float, dims: int) -> np.ndarray:
    """Band-limited random motion in [-1, 1]: sums of slow sinusoids, (n, dims)."""
    t = np.arange(n, dtype=np.float64) / fps
    out = np.zeros((n, dims))
    for d in range(dims):
        for _ in range(3):
            f = rng.uniform(0.08, 0.7)
            out[:, d] += rng.uniform(0.3, 1.0) * np.sin(
                2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
            )
        out[:, d] /= 2.0
    return np.clip(out, -1, 1)


class FaceRenderer:
    """Render talking-face frames for one speaker.

    Args:
        look: the speaker's appearance.
        frame_size: output frame side in pixels (square, even).
        fps: frame rate (frames/s), used for motion time scales.
    """

    def __init__(self, look: SpeakerLook, frame_size: int = 192, fps: float = 25.0):
        self.look = look
        self.size = int(frame_size)
        self.fps = fps
        photo = _neutral_photo() * np.asarray(look.skin_tint, np.float32)
        keypoints = _PHOTO_KEYPOINTS.copy()
        centre = np.array(_PHOTO_FACE_CENTRE)
        if look.flip:
            photo = photo[:, ::-1]
            w = photo.shape[1]
            keypoints[:, 0] = w - 1 - keypoints[:, 0]
            keypoints = keypoints[[1, 0, 2, 3]]  # image-left eye stays first
            centre[0] = w - 1 - centre[0]
        self.photo = np.ascontiguousarray(np.clip(photo, 0, 255)).astype(np.uint8)
        self.keypoints = keypoints
        self.centre = centre
        self.base_scale = self.size / _PHOTO_VIEW * look.face_scale

    def _pose(self, motion: np.ndarray) -> np.ndarray:
        """Source->frame 2x3 similarity for a motion vector (dx, dy, rot, scale)."""
        amp = self.look.head_motion
        dx, dy = motion[0] * 3.0 * amp, motion[1] * 2.5 * amp
        rot = math.radians(motion[2] * 2.5 * amp)
        scale = self.base_scale * (1.0 + 0.03 * amp * motion[3])
        c, s = scale * math.cos(rot), scale * math.sin(rot)
        tx = self.size / 2 + self.look.offset[0] + dx
        ty = self.size / 2 + self.look.offset[1] + dy
        cx, cy = self.centre
        return np.array([[c, -s, tx - c * cx + s * cy], [s, c, ty - s * cx - c * cy]])

    def render(
        self, params: np.ndarray, rng: np.random.Generator
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Render one utterance.

        Args:
            params: ``(T, 8)`` mouth parameters (see :data:`visemes.PARAMS`).
            rng: random generator for motion, lighting and noise.

        Returns:
            ``uint8 (T, S, S, 3)`` RGB frames and ``float32 (T, 4, 2)`` keypoints.
        """
        n = len(params)
        size = self.size
        motion = _smooth_walk(rng, n, self.fps, 4)
        light = _smooth_walk(rng, n, self.fps, 2)
        xs = (np.arange(size, dtype=np.float32) / (size - 1) - 0.5)[None, :, None]
        frames = np.empty((n, size, size, 3), np.uint8)
        keypoints = np.empty((n, 4, 2), np.float32)
        # roll of the photo's eye line (mirrored faces roll the other way)
        eye = self.keypoints[1] - self.keypoints[0]
        roll0 = math.atan2(eye[1], eye[0])
        for t in range(n):
            m = self._pose(motion[t])
            frame = cv2.warpAffine(
                self.photo,
                m,
                (size, size),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            kp = self.keypoints @ m[:, :2].T + m[:, 2]
            scale = math.hypot(m[0, 0], m[1, 0])
            roll = roll0 + math.atan2(m[1, 0], m[0, 0])
            half_w = 0.5 * _PHOTO_MOUTH_WIDTH * self.look.mouth_width * scale
            mouth_dy = self._draw_mouth(frame, kp[3], half_w, roll, params[t])
            kp[3] += (-math.sin(roll) * mouth_dy, math.cos(roll) * mouth_dy)
            gain = 1.0 + self.look.light_var * light[t, 0]
            grad = self.look.light_grad * light[t, 1]
            img = frame.astype(np.float32)
            img *= gain * (1.0 + grad * xs)
            noise = rng.standard_normal((size, size), dtype=np.float32)
            noise *= self.look.noise_sigma
            img += noise[..., None]
            np.clip(img, 0, 255, out=img)
            frames[t] = img
            keypoints[t] = kp
        return frames, keypoints

    def _draw_mouth(
        self,
        frame: np.ndarray,
        centre: np.ndarray,
        hw0: float,
        roll: float,
        p: np.ndarray,
    ) -> float:
        """Draw the mouth in place; return the downward shift of its centre (px)."""
        look = self.look
        opn = float(np.clip(p[0] * look.articulation, 0.0, 1.2))
        spread, rnd, teeth_up, teeth_low, tongue, press, tuck = (
            float(v) for v in p[1:]
        )
        hw = (1.0 + 0.35 * spread) * (1.0 - 0.28 * rnd)  # half width, units of hw0
        hwi = hw * (0.9 - 0.3 * rnd)  # inner half width
        ho = 0.95 * opn  # opening height
        top0, bot0 = -0.3 * ho, 0.7 * ho  # the jaw carries the lower lip
        tu = look.lip_upper * (1.0 + 0.5 * rnd) * (1.0 - 0.45 * press)
        tl = (
            look.lip_lower
            * (1.0 + 0.4 * rnd)
            * (1.0 - 0.45 * press)
            * (1.0 - 0.45 * tuck)
        )
        bot0 -= 0.12 * tuck  # lower lip raised under the upper teeth
        jaw_px = (0.7 * ho) * hw0

        cs, sn = math.cos(roll), math.sin(roll)
        cx, cy = float(centre[0]), float(centre[1])
        pad = int(math.ceil(hw0 * 2.6)) + 2
        x0, y0 = max(int(cx) - pad, 0), max(int(cy) - pad, 0)
        x1, y1 = min(int(cx) + pad, frame.shape[1]), min(
            int(cy) + int(pad * 1.6), frame.shape[0]
        )
        if x1 - x0 < 4 or y1 - y0 < 4:
            return 0.0
        patch = frame[y0:y1, x0:x1].astype(np.float32)
        ph, pw = patch.shape[:2]
        # jaw: displace the chin region downwards with the opening
        if jaw_px > 0.05:
            gx, gy = np.meshgrid(
                np.arange(pw, dtype=np.float32), np.arange(ph, dtype=np.float32)
            )
            u = (gx + x0 - cx) * cs + (gy + y0 - cy) * sn  # along the mouth
            v = -(gx + x0 - cx) * sn + (gy + y0 - cy) * cs  # down the face
            w = np.exp(-((u / (1.5 * hw0)) ** 2)) * np.clip(v / (0.3 * hw0) + 0.5, 0, 1)
            w *= np.clip(1.0 - v / (3.2 * hw0), 0, 1)
            d = jaw_px * w
            patch = cv2.remap(
                patch,
                gx + d * sn,
                gy - d * cs,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )

        xs = np.linspace(-1.0, 1.0, 41)
        prof_o = np.sqrt(np.clip(1 - xs**2, 0, 1))
        xi = xs * hwi
        prof_i = np.sqrt(np.clip(1 - (xi / max(hwi, 1e-3)) ** 2, 0, 1))
        bow = (
            1.0
            + 0.25 * np.exp(-(((np.abs(xs) - 0.32) / 0.18) ** 2))
            - 0.18 * np.exp(-((xs / 0.1) ** 2))
        )
        xo = xs * hw
        in_top = top0 * np.interp(xo, xi, prof_i, left=0, right=0)
        in_bot = bot0 * np.interp(xo, xi, prof_i, left=0, right=0)
        out_top = in_top - tu * (prof_o**0.6) * bow
        out_bot = in_bot + tl * (prof_o**0.7)

        def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            px = cx + (x * cs - y * sn) * hw0 - x0
            py = cy + (x * sn + y * cs) * hw0 - y0
            return np.round(np.stack([px, py], 1) * 16).astype(np.int32)

        def mask(poly: np.ndarray) -> np.ndarray:
            m = np.zeros((ph, pw), np.uint8)
            cv2.fillPoly(m, [poly], 255, cv2.LINE_AA, 4)
            return m.astype(np.float32)[..., None] / 255.0

        outer = mask(to_px(np.r_[xo, xo[::-1]], np.r_[out_top, out_bot[::-1]]))
        outer = cv2.GaussianBlur(outer, (3, 3), 0.6)[..., None]
        lip = np.asarray(look.lip_color, np.float32)
        # flat lip colour with a highlight on the lower lip
        lips = np.empty_like(patch)
        lips[:] = lip
        lower_hi = mask(
            to_px(
                np.r_[xo * 0.6, xo[::-1] * 0.6],
                np.r_[
                    in_bot * 0.6 + (in_bot + 0.55 * tl) * 0.4,
                    (in_bot + 0.75 * tl)[::-1],
                ],
            )
        )
        lips = lips * (1.0 + 0.18 * lower_hi)
        out = patch * (1 - outer) + lips * outer
        # seam between closed lips
        seam = to_px(xo * 0.95, (in_top + in_bot) / 2)
        cv2.polylines(
            out, [seam], False, (lip * (0.75 - 0.3 * press)).tolist(), 1, cv2.LINE_AA, 4
        )
        if ho > 0.02:
            inner_poly = to_px(np.r_[xo, xo[::-1]], np.r_[in_top, in_bot[::-1]])
            inner = mask(inner_poly)
            cav = np.empty_like(patch)
            cav[:] = (38.0, 14.0, 18.0)
            if tongue > 0.05 or ho > 0.3:
                ty = bot0 - 0.25 * ho + 0.3 * ho * (1 - tongue)
                tmask = mask(
                    to_px(
                        _CIRCLE[:, 0] * 0.6 * hwi,
                        ty + _CIRCLE[:, 1] * (0.3 * ho + 0.05),
                    )
                )
                a = 0.35 + 0.65 * tongue
                cav = cav * (1 - a * tmask) + np.float32([175, 78, 88]) * a * tmask
            teeth = np.float32([228, 220, 200])
            curve = 0.06 * (xs**2)  # teeth edges curve up towards the corners
            if teeth_up > 0.05:
                edge = -0.03 + 0.11 * teeth_up - curve
                band = mask(
                    to_px(
                        np.r_[xo * 0.85, xo[::-1] * 0.85],
                        np.r_[in_top - 0.1, edge[::-1]],
                    )
                )
                cav = cav * (1 - teeth_up * band) + teeth * teeth_up * band
            if teeth_low > 0.05:
                edge = bot0 - 0.02 - 0.12 * teeth_low + curve
                band = mask(
                    to_px(
                        np.r_[xo * 0.75, xo[::-1] * 0.75],
                        np.r_[edge, (in_bot + 0.1)[::-1]],
                    )
                )
                cav = cav * (1 - teeth_low * band) + teeth * 0.88 * teeth_low * band
            out = out * (1 - inner) + cav * inner
        frame[y0:y1, x0:x1] = np.clip(out, 0, 255).astype(np.uint8)
        return 0.5 * (top0 + bot0) * hw0
