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


def _rigl_reference(shapes, density, kind, power=1.0):
    """RigL's get_sparsities_erdos_renyi, written out for torch layouts (out, in, *kernel):
    ER scores (n_in + n_out) / (n_in * n_out) on channels only; ERK sum(shape) / prod(shape)."""
    import math

    n = [math.prod(s) for s in shapes]
    if kind == "er":
        raw = [((s[0] + s[1]) / (s[0] * s[1])) ** power for s in shapes]
    else:
        raw = [(sum(s) / math.prod(s)) ** power for s in shapes]
    dense = set()
    while True:
        budget = density * sum(n) - sum(n[i] for i in dense)
        eps = budget / sum(raw[i] * n[i] for i in range(len(n)) if i not in dense)
        over = {i for i in range(len(n)) if i not in dense and eps * raw[i] > 1}
        if not over:
            return [1.0 if i in dense else eps * raw[i] for i in range(len(n))]
        dense |= over


@pytest.mark.parametrize("kind", ["er", "erk"])
@pytest.mark.parametrize("power", [1.0, 0.5])
def test_er_and_erk_match_rigl_formulas_on_conv_and_linear_shapes(kind, power):
    shapes = [(64, 1, 5, 7, 7), (128, 64, 3, 3), (768, 512), (3072, 768), (768, 768, 31), (256, 4)]
    got = layer_densities(shapes, 0.2, kind, power)
    ref = _rigl_reference(shapes, 0.2, kind, power)
    assert got == pytest.approx(ref, rel=1e-9)
    if kind == "er":  # kernel size does not enter ER: a 3x3 conv scores like its 1x1 twin
        a, b = layer_densities([(128, 64, 3, 3), (128, 64), (4096, 4096)], 0.1, "er")[:2]
        assert a == pytest.approx(b)
