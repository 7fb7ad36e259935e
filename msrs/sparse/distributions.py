"""Layer-wise density distributions: uniform, ER and ERK.

Given the target shapes and a global density ``D``, return one density per
layer such that the total number of kept weights is ``D * N`` (``N`` the total
number of target weights), following RigL's ``get_sparsities_erdos_renyi``:

* ``uniform``: every layer at ``D``.
* ``er`` (Erdos-Renyi): density proportional to ``(n_in + n_out) / (n_in n_out)``
  with ``n_out, n_in`` the output and input channels (``shape[0], shape[1]``;
  kernel dimensions are not counted, as in RigL's ER).
* ``erk`` (ER-Kernel): density proportional to ``sum(shape) / prod(shape)``
  (kernel dimensions included), raised to ``power`` (1.0; 0 gives uniform).

Layers whose density would exceed 1 are made dense and the scale is re-solved
over the others until none exceeds 1.
"""

from typing import Dict, List, Sequence, Tuple

DISTRIBUTIONS = ("uniform", "er", "erk")


def _raw_score(shape: Tuple[int, ...], kind: str) -> float:
    n = 1
    for s in shape:
        n *= s
    if kind == "erk":
        return float(sum(shape)) / n
    if kind == "er":
        n_out = shape[0]
        n_in = shape[1] if len(shape) > 1 else 1
        return float(n_in + n_out) / (n_in * n_out)
    raise ValueError(kind)


def layer_densities(
    shapes: Sequence[Tuple[int, ...]],
    density: float,
    distribution: str = "uniform",
    power: float = 1.0,
) -> List[float]:
    """Per-layer densities for a global ``density``.

    Args:
        shapes: weight shapes of the targets.
        density: global fraction of weights kept, in ``(0, 1]``.
        distribution: ``uniform``, ``er`` or ``erk``.
        power: exponent applied to the ER/ERK scores.

    Returns:
        One density per shape, each in ``[0, 1]``.
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"sparsity_conf density must be in (0, 1]: {density}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"sparsity_conf distribution: unknown {distribution!r}; choose from {DISTRIBUTIONS}"
        )
    numels = []
    for s in shapes:
        n = 1
        for d in s:
            n *= d
        numels.append(n)
    if distribution == "uniform" or density >= 1.0:
        return [float(density)] * len(shapes)
    raw = [_raw_score(s, distribution) ** power for s in shapes]
    dense: Dict[int, bool] = {}
    total = float(sum(numels))
    while True:
        budget = density * total - sum(numels[i] for i in dense)
        denom = sum(raw[i] * numels[i] for i in range(len(shapes)) if i not in dense)
        if denom <= 0:
            break
        eps = budget / denom
        over = [i for i in range(len(shapes)) if i not in dense and eps * raw[i] > 1.0]
        if not over:
            break
        for i in over:
            dense[i] = True
    out = []
    for i in range(len(shapes)):
        out.append(1.0 if i in dense else max(0.0, min(1.0, eps * raw[i])))
    return out
