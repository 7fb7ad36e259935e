"""Top-k helpers that turn scores into binary masks with exact counts."""

from typing import List, Optional, Sequence

import torch


def topk_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """``uint8`` mask of ``scores``' shape with ones at the ``k`` largest scores.

    Ties are broken by ``torch.topk`` (deterministic for a given input).
    """
    n = scores.numel()
    k = max(0, min(int(k), n))
    mask = torch.zeros(n, dtype=torch.uint8, device=scores.device)
    if k > 0:
        idx = torch.topk(scores.reshape(-1).float(), k, sorted=False).indices
        mask[idx] = 1
    return mask.view(scores.shape)


def global_topk_masks(scores: Sequence[torch.Tensor], k: int) -> List[torch.Tensor]:
    """Keep the ``k`` largest scores across all tensors (one global ranking)."""
    flat = torch.cat([s.reshape(-1).float() for s in scores])
    full = topk_mask(flat, k)
    out, offset = [], 0
    for s in scores:
        out.append(full[offset : offset + s.numel()].view(s.shape))
        offset += s.numel()
    return out


def weighted_global_topk(scores: Sequence[torch.Tensor], weights: Sequence[int], density: float) -> List[torch.Tensor]:
    """Global top-k over per-channel ``scores`` whose entries count ``weights`` weights each.

    Keeps the highest-scoring channels until ``density`` of all weights is
    reached (one more channel when that lands closer to the budget).
    """
    flat = torch.cat([s.reshape(-1).float() for s in scores])
    w = torch.cat([torch.full((s.numel(),), float(f), device=flat.device) for s, f in zip(scores, weights)])
    order = torch.argsort(flat, descending=True)
    cum = torch.cumsum(w[order], 0)
    budget = density * float(w.sum())
    keep = int((cum <= budget + 1e-6).sum().item())
    if keep < len(order) and abs(float(cum[keep]) - budget) < abs(budget - (float(cum[keep - 1]) if keep else 0.0)):
        keep += 1
    mask = torch.zeros_like(flat, dtype=torch.uint8)
    mask[order[:keep]] = 1
    out, off = [], 0
    for s in scores:
        out.append(mask[off : off + s.numel()].view(s.shape))
        off += s.numel()
    return out


def mix_seed(*xs: int) -> int:
    """A 63-bit seed mixed from integers (FNV-1a style); equal on every DDP rank."""
    h = 1469598103934665603
    for x in xs:
        h = ((h ^ (int(x) & 0xFFFFFFFFFFFF)) * 1099511628211) & 0x7FFFFFFFFFFFFFFF
    return h


def random_mask(
    shape: Sequence[int], k: int, generator: torch.Generator, device: Optional[torch.device] = None
) -> torch.Tensor:
    """``uint8`` mask with exactly ``k`` ones at uniformly random positions."""
    n = 1
    for s in shape:
        n *= s
    k = max(0, min(int(k), n))
    perm = torch.randperm(n, generator=generator)
    mask = torch.zeros(n, dtype=torch.uint8)
    mask[perm[:k]] = 1
    return mask.view(tuple(shape)).to(device) if device is not None else mask.view(tuple(shape))


def binarize_fraction(values: torch.Tensor) -> torch.Tensor:
    """Re-binarise an averaged 0/1 mask, keeping its expected count.

    ``values`` is the mean of ``n`` binary masks; ``k = round(sum(values))``
    (the mean number of ones) entries with the largest values are kept, so a
    mask that was identical in every averaged checkpoint comes back unchanged
    and any mix keeps the common density.
    """
    v = values.float()
    k = int(round(float(v.sum().item())))
    return topk_mask(v, k)
