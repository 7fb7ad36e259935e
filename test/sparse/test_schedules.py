import math

import pytest

from msrs.sparse.schedules import cubic_density, decayed_fraction, interpolate


def test_interpolate_endpoints_and_shapes():
    assert interpolate(1, 200, 0.0) == 1 and math.isclose(interpolate(1, 200, 1.0), 200)
    assert math.isclose(interpolate(1, 100, 0.5), 10.0)  # geometric
    assert math.isclose(interpolate(1, 3, 0.5, "linear"), 2.0)
    assert math.isclose(interpolate(1, 3, 0.5, "cosine"), 2.0)
    assert interpolate(5, 9, 0.7, "constant") == 5
    assert interpolate(1, 200, 7.0) == 200  # clamped
    with pytest.raises(ValueError):
        interpolate(0, 1, 0.5, "exponential")
    with pytest.raises(ValueError):
        interpolate(1, 2, 0.5, "zigzag")


def test_cubic_density_and_decays():
    assert cubic_density(1.0, 0.1, 0.0) == 1.0 and math.isclose(cubic_density(1.0, 0.1, 1.0), 0.1)
    assert math.isclose(cubic_density(1.0, 0.1, 0.5), 0.1 + 0.9 * 0.125)
    assert math.isclose(decayed_fraction(0.3, 0.0, "cosine"), 0.3)
    assert math.isclose(decayed_fraction(0.3, 1.0, "cosine"), 0.0, abs_tol=1e-12)
    assert decayed_fraction(0.3, 0.6, "constant") == 0.3
    assert math.isclose(decayed_fraction(0.3, 0.5, "linear"), 0.15)
