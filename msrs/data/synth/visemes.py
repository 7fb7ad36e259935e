"""espeak-ng phonemes -> visemes -> per-frame mouth-shape parameters.

Each viseme is a target mouth shape, a vector of :data:`PARAMS`:

- ``open``: inner lip opening, 0 (closed) .. 1 (wide open, jaw dropped);
- ``spread``: lip-corner spreading, -0.4 (narrow) .. 0.4 (wide smile-like);
- ``round``: rounding/protrusion 0..1 (narrower, rounder, thicker lips);
- ``teeth_up`` / ``teeth_low``: visibility of the upper / lower teeth 0..1;
- ``tongue``: tongue visibility 0..1 (tip between/behind the teeth);
- ``press``: lips pressed together (bilabials) 0..1;
- ``tuck``: lower lip tucked under the upper teeth (labiodentals) 0..1.

Diphthongs map to two (or three) visemes sharing the phoneme's duration.
:func:`viseme_track` turns a phoneme sequence into frame-rate parameters:
targets are laid out on a 1 ms grid, shifted ``lead_s`` earlier (lips lead
the sound), averaged over each video frame and smoothed with a Gaussian of
``sigma_frames`` (coarticulation).  The map, the shapes, the 40 ms lead and the
1.0-frame smoothing are our choices for a clearly visible, plausible animation,
not measurements.
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np

PARAMS = ("open", "spread", "round", "teeth_up", "teeth_low", "tongue", "press", "tuck")

#: viseme -> target shape (values in the order of :data:`PARAMS`)
VISEMES: Dict[str, Tuple[float, ...]] = {
    "SIL": (0.04, 0.00, 0.00, 0.0, 0.0, 0.0, 0.0, 0.0),
    "PP": (0.00, -0.05, 0.10, 0.0, 0.0, 0.0, 1.0, 0.0),
    "FF": (0.14, 0.05, 0.00, 1.0, 0.0, 0.0, 0.0, 1.0),
    "TH": (0.30, 0.05, 0.00, 0.9, 0.6, 1.0, 0.0, 0.0),
    "DD": (0.28, 0.10, 0.00, 0.7, 0.4, 0.4, 0.0, 0.0),
    "KK": (0.42, 0.00, 0.00, 0.4, 0.2, 0.1, 0.0, 0.0),
    "CH": (0.24, -0.20, 0.60, 1.0, 1.0, 0.0, 0.0, 0.0),
    "SS": (0.12, 0.25, 0.00, 1.0, 1.0, 0.0, 0.0, 0.0),
    "RR": (0.24, -0.15, 0.70, 0.3, 0.0, 0.0, 0.0, 0.0),
    "WW": (0.10, -0.35, 1.00, 0.0, 0.0, 0.0, 0.0, 0.0),
    "AA": (1.00, 0.05, 0.00, 0.3, 0.1, 0.3, 0.0, 0.0),
    "EE": (0.40, 0.35, 0.00, 0.9, 0.5, 0.1, 0.0, 0.0),
    "IH": (0.36, 0.10, 0.00, 0.4, 0.1, 0.2, 0.0, 0.0),
    "OH": (0.72, -0.20, 0.65, 0.2, 0.0, 0.1, 0.0, 0.0),
    "OU": (0.26, -0.30, 0.90, 0.0, 0.0, 0.0, 0.0, 0.0),
}

# espeak-ng English phoneme mnemonics (stress marks removed) -> viseme(s)
_MAP: Dict[str, Tuple[str, ...]] = {
    **{p: ("PP",) for p in ("p", "b", "m")},
    **{p: ("FF",) for p in ("f", "v")},
    **{p: ("TH",) for p in ("T", "D")},
    **{
        p: ("DD",)
        for p in ("t", "d", "n", "l", "t#", "t2", "t[", "d#", "n-", "l/", "@L", "L")
    },
    **{p: ("KK",) for p in ("k", "g", "N", "h", "x", "?", "k#", "g#")},
    **{p: ("CH",) for p in ("tS", "dZ", "S", "Z", "j", ";")},
    **{p: ("SS",) for p in ("s", "z")},
    **{p: ("RR",) for p in ("r", "r-", "VR", "3:", "IR")},
    **{p: ("WW",) for p in ("w", "w#", "W")},
    **{p: ("AA",) for p in ("a", "a#", "aa", "A:", "V", "a2", "A")},
    **{p: ("EE",) for p in ("i:", "i", "E", "e", "E2", "E3")},
    **{p: ("IH",) for p in ("I", "I#", "I2", "@", "@-", "@2", "@5", "3", "y")},
    **{p: ("OH",) for p in ("0", "O:", "O", "O2", "o@", "o")},
    **{p: ("OU",) for p in ("u:", "U", "u")},
    "aI": ("AA", "EE"),
    "aI2": ("AA", "EE"),
    "aI@": ("AA", "EE", "IH"),
    "aU": ("AA", "OU"),
    "eI": ("EE", "EE"),
    "oU": ("OH", "OU"),
    "OI": ("OH", "EE"),
    "i@": ("EE", "IH"),
    "i@3": ("EE", "IH"),
    "e@": ("EE", "IH"),
    "A@": ("AA", "IH"),
    "O@": ("OH", "IH"),
    "U@": ("OU", "IH"),
    "_": ("SIL",),
}

_FIRST_CHAR = {
    "a": ("AA",),
    "A": ("AA",),
    "e": ("EE",),
    "E": ("EE",),
    "i": ("EE",),
    "I": ("IH",),
    "@": ("IH",),
    "3": ("IH",),
    "o": ("OH",),
    "O": ("OH",),
    "0": ("OH",),
    "u": ("OU",),
    "U": ("OU",),
    "V": ("AA",),
    "p": ("PP",),
    "b": ("PP",),
    "m": ("PP",),
    "f": ("FF",),
    "v": ("FF",),
    "t": ("DD",),
    "d": ("DD",),
    "n": ("DD",),
    "l": ("DD",),
    "k": ("KK",),
    "g": ("KK",),
    "s": ("SS",),
    "z": ("SS",),
    "r": ("RR",),
    "w": ("WW",),
    "j": ("CH",),
}


def phoneme_to_visemes(phoneme: str) -> Tuple[str, ...]:
    """Visemes of an espeak-ng mnemonic (unknown: by first letter, else IH)."""
    if phoneme in _MAP:
        return _MAP[phoneme]
    return _FIRST_CHAR.get(phoneme[:1], ("IH",))


def viseme_track(
    phonemes: Sequence[Tuple[str, float, float]],
    num_frames: int,
    fps: float = 25.0,
    offset_s: float = 0.0,
    lead_s: float = 0.04,
    sigma_frames: float = 1.0,
) -> np.ndarray:
    """Per-frame mouth parameters from timed phonemes.

    Args:
        phonemes: ``(name, start_s, end_s)`` relative to the synthesised audio.
        num_frames: output frames ``T``.
        fps: frame rate (frames/s).
        offset_s: time of the audio start within the clip (leading silence), s.
        lead_s: visual articulation leads the sound by this much, s.
        sigma_frames: Gaussian coarticulation smoothing, in frames.

    Returns:
        ``float32 (T, len(PARAMS))``.
    """
    ms = int(np.ceil(num_frames / fps * 1000.0))
    grid = np.tile(np.asarray(VISEMES["SIL"], dtype=np.float32), (ms, 1))
    for name, start, end in phonemes:
        vis = phoneme_to_visemes(name)
        a = (start + offset_s - lead_s) * 1000.0
        b = (end + offset_s - lead_s) * 1000.0
        step = (b - a) / len(vis)
        for k, v in enumerate(vis):
            lo = int(round(max(a + k * step, 0)))
            hi = int(round(min(a + (k + 1) * step, ms)))
            if hi > lo:
                grid[lo:hi] = VISEMES[v]
    per = 1000.0 / fps
    frames = np.empty((num_frames, len(PARAMS)), dtype=np.float32)
    for t in range(num_frames):
        lo, hi = int(round(t * per)), int(round((t + 1) * per))
        frames[t] = grid[lo : max(hi, lo + 1)].mean(axis=0)
    if sigma_frames > 0 and num_frames > 1:
        radius = int(np.ceil(3 * sigma_frames))
        k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
        k /= k.sum()
        padded = np.pad(frames, ((radius, radius), (0, 0)), mode="edge")
        frames = np.stack(
            [
                np.convolve(padded[:, j], k, mode="valid")
                for j in range(frames.shape[1])
            ],
            axis=1,
        ).astype(np.float32)
    return frames


def viseme_names() -> List[str]:
    """The viseme inventory, sorted."""
    return sorted(VISEMES)
