"""Export of masked checkpoints: plain state dicts and compressed sparse files.

* :func:`squash_state_dict` -- apply each mask to its weight and drop every
  mask tensor and the sparsity state: the result has the keys of the same
  architecture without masks (``x.weight``) and loads strictly into it with
  plain PyTorch.  ``FIXED`` masks give ``w * mask``; a checkpoint taken during
  a search phase gives the soft effective weight ``w * s * sigmoid(l * phi)``
  (the function the checkpoint computes); ``DENSE`` gives ``w``.
* :func:`compress_state_dict` / :func:`decompress_state_dict` -- store a
  tensor as a packed bitmap of its non-zeros plus the non-zero values when
  that is smaller (any tensor with more than ~3 % zeros at fp32); exact
  round trip.
* :func:`load_state_dict_file` -- read any of: a state dict, an ESPnet
  ``checkpoint.pth`` (``"model"`` key) or a compressed file.
"""

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Union

import numpy as np
import torch

from msrs.sparse.masks import FIXED, SOFT

FORMAT = "msrs-sparse-v1"
_ORIG = re.compile(r"^(?P<owner>(.*\.)?)parametrizations\.(?P<t>[^.]+)\.original$")


def _sparsity_roots(state: Mapping[str, Any]):
    return [k[: -len("checkpoint_count")] for k in state if k.endswith("sparsity.checkpoint_count")]


def _scalar(state, key, default):
    v = state.get(key)
    return default if v is None else float(v)


@torch.no_grad()
def effective_weight(state: Mapping[str, torch.Tensor], owner: str, tname: str) -> torch.Tensor:
    """The weight a masked module computes with, from its state-dict entries."""
    base = f"{owner}parametrizations.{tname}"
    w = state[base + ".original"]
    mode = int(state[base + ".0.mode"]) if base + ".0.mode" in state else 0
    if mode == FIXED:
        m = state[base + ".0.mask"]
        return (w * (m.float() >= 0.5 if m.is_floating_point() else m != 0)).to(w.dtype)
    if mode == SOFT:
        roots = [r for r in _sparsity_roots(state) if owner.startswith(r[: -len("sparsity.")])]
        root = roots[0] if roots else "sparsity."
        t = _scalar(state, root + "temperature", 1.0)
        s = _scalar(state, root + "soft_scale", 1.0)
        phi = state[base + ".0.logits"].float()
        return (w.float() * torch.sigmoid(phi * t) * s).to(w.dtype)
    return w.clone()


def squash_state_dict(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Plain state dict with masks applied and no mask/sparsity entries."""
    out: Dict[str, torch.Tensor] = {}
    roots = _sparsity_roots(state)
    for k in state:
        m = _ORIG.match(k)
        if m:
            out[m.group("owner") + m.group("t")] = effective_weight(state, m.group("owner"), m.group("t"))
    for k, v in state.items():
        if ".parametrizations." in "." + k or k.startswith("parametrizations."):
            continue
        if any(k.startswith(r) for r in roots):
            continue
        out[k] = v
    # keep the model's key order: owners' weights where their first key was
    order = {}
    for k in state:
        m = _ORIG.match(k)
        key = m.group("owner") + m.group("t") if m else k
        if key in out and key not in order:
            order[key] = out[key]
    for k, v in out.items():
        order.setdefault(k, v)
    return order


def compress_state_dict(state: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """Bitmap + values encoding for tensors where it is smaller."""
    dense: Dict[str, Any] = {}
    sparse: Dict[str, Dict[str, Any]] = {}
    for k, v in state.items():
        if not torch.is_tensor(v) or not v.is_floating_point() or v.numel() < 64:
            dense[k] = v
            continue
        flat = v.detach().cpu().reshape(-1)
        nz = flat != 0
        nnz = int(nz.sum())
        if nnz * v.element_size() + (flat.numel() + 7) // 8 >= flat.numel() * v.element_size():
            dense[k] = v
            continue
        bits = np.packbits(nz.numpy())
        sparse[k] = {
            "shape": tuple(v.shape),
            "dtype": str(v.dtype).replace("torch.", ""),
            "bits": torch.from_numpy(bits),
            "values": flat[nz].clone(),
        }
    return {"format": FORMAT, "dense": dense, "sparse": sparse, "order": list(state.keys())}


def decompress_state_dict(obj: Mapping[str, Any]) -> Dict[str, torch.Tensor]:
    """Inverse of :func:`compress_state_dict`."""
    if obj.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file (format={obj.get('format')!r})")
    out: Dict[str, torch.Tensor] = {}
    for k in obj["order"]:
        if k in obj["dense"]:
            out[k] = obj["dense"][k]
            continue
        e = obj["sparse"][k]
        n = 1
        for s in e["shape"]:
            n *= s
        nz = torch.from_numpy(np.unpackbits(e["bits"].numpy(), count=n).astype(bool))
        flat = torch.zeros(n, dtype=getattr(torch, e["dtype"]))
        flat[nz] = e["values"]
        out[k] = flat.view(e["shape"])
    return out


def load_state_dict_file(path: Union[str, Path]) -> Dict[str, torch.Tensor]:
    """Load a state dict from a model file, an ESPnet checkpoint or a compressed file.

    Raises:
        ValueError: naming ``path`` when the content is none of these.
    """
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ValueError(f"{path}: cannot read checkpoint: {e}") from e
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return decompress_state_dict(obj)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        return obj["model"]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return obj
    raise ValueError(f"{path}: not a state dict, ESPnet checkpoint or {FORMAT} file")
