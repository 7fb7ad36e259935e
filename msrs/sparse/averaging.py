"""Repair of checkpoints averaged by ESPnet's ``average_nbest_models``.

ESPnet averages float tensors, *sums* ``torch.int*`` tensors and divides
``uint8`` tensors into fractions.  For a masked model this gives fractional
masks and counters multiplied by ``n``.  The ``sparsity.checkpoint_count``
buffer (1 in every saved model) becomes ``n`` in an averaged one, which tells
how to undo the sum.  :func:`fix_averaged_state_dict`

* divides every integer buffer of the sparsity module and every mask ``mode``
  by ``n`` (rounded), and resets ``checkpoint_count`` to 1;
* re-binarises every fractional mask to exactly ``round(sum)`` ones (the mean
  count of the averaged masks), keeping the largest fractions -- a mask that
  was the same in all averaged epochs (e.g. frozen) comes back unchanged, so
  the averaged model has exactly the frozen density.

The same repair runs in the load-state-dict hooks of an attached model, so
``build_model_from_file`` on an unrepaired file is also correct.
"""

import logging
import re
from pathlib import Path
from typing import Dict, List, MutableMapping, Union

import torch

from msrs.sparse.topology import binarize_fraction

logger = logging.getLogger(__name__)

_MASK = re.compile(r"(^|.*\.)parametrizations\.[^.]+\.0\.mask$")
_MODE = re.compile(r"(^|.*\.)parametrizations\.[^.]+\.0\.mode$")
_COUNT = "sparsity.checkpoint_count"


def fix_averaged_state_dict(state: MutableMapping[str, torch.Tensor]) -> bool:
    """Repair ``state`` in place; return whether anything changed."""
    changed = False
    roots = [k[: -len("checkpoint_count")] for k in state if k == _COUNT or k.endswith("." + _COUNT)]
    n_for_prefix: Dict[str, int] = {}
    for root in roots:
        n = int(round(float(state[root + "checkpoint_count"])))
        model_prefix = root[: -len("sparsity.")]
        n_for_prefix[model_prefix] = n
        if n > 1:
            for k in list(state):
                v = state[k]
                if k.startswith(root) and torch.is_tensor(v) and not v.is_floating_point() and v.dtype != torch.uint8:
                    state[k] = torch.round(v.double() / n).to(v.dtype)
            state[root + "checkpoint_count"] = torch.tensor(1, dtype=torch.int64)
            changed = True
    for k in list(state):
        v = state[k]
        if not torch.is_tensor(v):
            continue
        if _MASK.match(k) and v.dtype != torch.uint8:
            state[k] = repair_mask(v)
            changed = True
        elif _MODE.match(k):
            n = max((n for p, n in n_for_prefix.items() if k.startswith(p)), default=1)
            if n > 1:
                state[k] = torch.round(v.double() / n).to(v.dtype)
                changed = True
    return changed


def repair_mask(mask: torch.Tensor) -> torch.Tensor:
    """A stored mask as ``uint8`` 0/1: an averaged (fractional) one re-binarised, others cast."""
    if mask.dtype == torch.uint8:
        return mask
    if mask.is_floating_point():
        return binarize_fraction(mask)
    return (mask != 0).to(torch.uint8)


def fix_checkpoint_file(path: Union[str, Path]) -> bool:
    """Repair one saved state dict (or ESPnet ``checkpoint.pth``) in place."""
    path = Path(path)
    obj = torch.load(path, map_location="cpu", weights_only=False)
    state = obj["model"] if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else obj
    if not isinstance(state, dict) or not fix_averaged_state_dict(state):
        return False
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)
    return True


def fix_averaged_checkpoints(output_dir: Union[str, Path]) -> List[Path]:
    """Repair every averaged model (``*ave*.pth``, not symlinks) in ``output_dir``."""
    fixed = []
    for p in sorted(Path(output_dir).glob("*ave*.pth")):
        if p.is_symlink() or not p.is_file():
            continue
        try:
            if fix_checkpoint_file(p):
                fixed.append(p)
        except Exception as e:  # one bad file must not stop the others
            logger.warning("sparsity: could not repair averaged checkpoint %s: %s", p, e)
    if fixed:
        logger.info("sparsity: re-binarised masks in %s", ", ".join(str(p) for p in fixed))
    return fixed
