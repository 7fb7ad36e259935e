"""Scalar schedules over a phase: temperature, density, drop fraction.

All take a progress ``p`` in ``[0, 1]`` through the phase (clamped).
"""

import math

SCHEDULES = ("exponential", "linear", "cosine", "constant")
DECAYS = ("constant", "cosine", "linear")


def _clamp(p: float) -> float:
    return 0.0 if p < 0.0 else 1.0 if p > 1.0 else float(p)


def interpolate(start: float, end: float, p: float, schedule: str = "exponential") -> float:
    """Value between ``start`` (``p=0``) and ``end`` (``p=1``).

    ``exponential`` is geometric (``start * (end/start)**p``, Continuous
    Sparsification's temperature rule), ``linear``, ``cosine`` (half cosine)
    or ``constant`` (always ``start``).
    """
    p = _clamp(p)
    if schedule == "exponential":
        if start <= 0 or end <= 0:
            raise ValueError("an exponential schedule needs start > 0 and end > 0")
        return float(start * (end / start) ** p)
    if schedule == "linear":
        return float(start + (end - start) * p)
    if schedule == "cosine":
        return float(end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * p)))
    if schedule == "constant":
        return float(start)
    raise ValueError(f"unknown schedule {schedule!r}; choose from {SCHEDULES}")


def cubic_density(initial: float, final: float, p: float) -> float:
    """Zhu & Gupta (2017) gradual pruning, written for density.

    ``d(p) = final + (initial - final) * (1 - p)**3``.
    """
    p = _clamp(p)
    return float(final + (initial - final) * (1.0 - p) ** 3)


def decayed_fraction(fraction: float, p: float, decay: str = "cosine") -> float:
    """Drop fraction of SET/RigL at progress ``p``.

    ``cosine``: ``fraction/2 * (1 + cos(pi p))`` (RigL); ``linear``:
    ``fraction * (1 - p)``; ``constant``: ``fraction`` (SET).
    """
    p = _clamp(p)
    if decay == "cosine":
        return float(fraction * 0.5 * (1.0 + math.cos(math.pi * p)))
    if decay == "linear":
        return float(fraction * (1.0 - p))
    if decay == "constant":
        return float(fraction)
    raise ValueError(f"unknown decay {decay!r}; choose from {DECAYS}")
