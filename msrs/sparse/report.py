"""Per-layer sparsity table of a checkpoint (masked, squashed or plain)."""

import dataclasses
import re
from typing import List, Mapping, Sequence, Tuple

import torch

from msrs.sparse.masks import DENSE, FIXED, MODE_NAMES, SOFT
from msrs.sparse.squash import effective_weight

_ORIG = re.compile(r"^(?P<owner>(.*\.)?)parametrizations\.(?P<t>[^.]+)\.original$")


@dataclasses.dataclass
class LayerRow:
    """One line of the table.

    Attributes:
        name: parameter name without masks (``x.weight``).
        shape: weight shape.
        mode: ``fixed``, ``soft``, ``dense`` or ``plain`` (no mask).
        density: fraction of active weights (mask for masked layers; the hard
            decision ``phi > 0`` in a search phase; non-zeros for plain ones).
        zeros: exact zeros in the effective weight.
        numel: number of weights.
    """

    name: str
    shape: Tuple[int, ...]
    mode: str
    density: float
    zeros: int
    numel: int


@torch.no_grad()
def sparsity_table(state: Mapping[str, torch.Tensor], all_tensors: bool = False) -> List[LayerRow]:
    """Rows for every masked weight, plus plain float tensors with ``ndim >= 2``.

    Args:
        state: a state dict.
        all_tensors: include every plain float tensor (biases, norms, ...).
    """
    rows: List[LayerRow] = []
    done = set()
    for k in state:
        m = _ORIG.match(k)
        if not m:
            continue
        owner, t = m.group("owner"), m.group("t")
        base = f"{owner}parametrizations.{t}"
        w = effective_weight(state, owner, t)
        mode = int(state[base + ".0.mode"]) if base + ".0.mode" in state else DENSE
        if mode == FIXED:
            mask = state[base + ".0.mask"].double()
            density = float(mask.mean())
        elif mode == SOFT:
            density = float((state[base + ".0.logits"] > 0).double().mean())
        else:
            density = 1.0
        rows.append(LayerRow(owner + t, tuple(w.shape), MODE_NAMES.get(mode, "?"), density,
                             int((w == 0).sum()), w.numel()))
        done.add(owner + t)
    for k, v in state.items():
        if k in done or ".parametrizations." in "." + k or ".sparsity." in "." + k:
            continue
        if not torch.is_tensor(v) or not v.is_floating_point():
            continue
        if v.dim() < 2 and not all_tensors:
            continue
        z = int((v == 0).sum())
        rows.append(LayerRow(k, tuple(v.shape), "plain", 1.0 - z / max(v.numel(), 1), z, v.numel()))
    return rows


def global_density(rows: Sequence[LayerRow], masked_only: bool = True) -> float:
    """Weighted density over masked rows (or all rows if there are none)."""
    sel = [r for r in rows if r.mode != "plain"] if masked_only else list(rows)
    if not sel:
        sel = list(rows)
    n = sum(r.numel for r in sel)
    return sum(r.density * r.numel for r in sel) / max(n, 1)


def format_table(rows: Sequence[LayerRow]) -> str:
    """Fixed-width text table with a global line at the end."""
    w = max([len("name")] + [len(r.name) for r in rows])
    lines = [f"{'name':<{w}}  {'shape':<20} {'mode':<6} {'density':>8} {'zeros':>12} {'numel':>12}"]
    for r in rows:
        lines.append(
            f"{r.name:<{w}}  {str(list(r.shape)):<20} {r.mode:<6} {r.density:>8.4f} {r.zeros:>12d} {r.numel:>12d}"
        )
    masked = [r for r in rows if r.mode != "plain"]
    label = "global (masked layers)" if masked else "global (all listed)"
    lines.append(f"{label}: density {global_density(rows):.4f}, "
                 f"zeros {sum(r.zeros for r in (masked or rows))} of {sum(r.numel for r in (masked or rows))}")
    return "\n".join(lines)
