"""Sparse masks and sparse-training methods for any ``torch.nn.Module``.

``sparsity_choices`` is the ESPnet registry behind ``--sparsity``/``--sparsity_conf``.
"""

from espnet2.train.class_choices import ClassChoices

from msrs.sparse.abs_sparsity import AbsSparsity

sparsity_choices = ClassChoices(
    name="sparsity",
    classes=dict(),
    type_check=AbsSparsity,
    default=None,
    optional=True,
)

__all__ = ["AbsSparsity", "sparsity_choices"]
