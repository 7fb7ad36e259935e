import pytest

from msrs.sparse.distributions import layer_densities

SHAPES = [(64, 1, 5, 7, 7), (256, 256), (1024, 256), (256, 1024), (16, 8), (256, 1, 31)]


def _n(s):
    n = 1
    for d in s:
        n *= d
    return n


@pytest.mark.parametrize("dist", ["uniform", "er", "erk"])
@pytest.mark.parametrize("density", [0.05, 0.1, 0.5, 0.9])
def test_global_density_is_exact_and_layers_bounded(dist, density):
    d = layer_densities(SHAPES, density, dist)
    total = sum(_n(s) for s in SHAPES)
    kept = sum(di * _n(s) for di, s in zip(d, SHAPES))
    assert abs(kept / total - density) < 1e-9
    assert all(0.0 <= x <= 1.0 for x in d)


def test_erk_prefers_small_layers_and_caps_at_dense():
    d = layer_densities(SHAPES, 0.1, "erk")
    assert d[4] == 1.0  # the tiny 16x8 layer is made dense
    assert d[2] < d[1]  # bigger layers are sparser
    assert d[0] > d[2]  # ERK counts kernel dims: the conv3d stem is denser than big FFNs
    assert len(set(layer_densities(SHAPES, 0.2, "uniform"))) == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="density"):
        layer_densities(SHAPES, 0.0)
    with pytest.raises(ValueError, match="distribution"):
        layer_densities(SHAPES, 0.5, "gaussian")
