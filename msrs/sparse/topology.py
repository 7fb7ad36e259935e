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
