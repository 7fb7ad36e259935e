"""Sparse masks and sparse-training methods for any ``torch.nn.Module``.

``sparsity_choices`` is the ESPnet registry behind ``--sparsity``/``--sparsity_conf``:

=========  ===============================================================
key        method
=========  ===============================================================
``msrs``   MSRS learned mask, frozen when stable, then dense or sparse
``cs``     Continuous Sparsification (rounds, penalty on mask values)
``dense``  dense baseline (identity masks, same logs)
``static`` random static mask (uniform / ER / ERK)
``snip``   SNIP at the first step
``gmp``    gradual magnitude pruning (cubic)
``set``    Sparse Evolutionary Training
``rigl``   RigL
=========  ===============================================================

See docs/sparsity.md for the YAML grammar.
"""

from espnet2.train.class_choices import ClassChoices

from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.continuous import ContinuousSparsification
from msrs.sparse.dense import DenseSparsity
from msrs.sparse.dynamic import RigLSparsity, SETSparsity
from msrs.sparse.gmp import GMPSparsity
from msrs.sparse.msrs import MSRSSparsity
from msrs.sparse.static import SNIPSparsity, StaticSparsity

sparsity_choices = ClassChoices(
    name="sparsity",
    classes=dict(
        msrs=MSRSSparsity,
        cs=ContinuousSparsification,
        dense=DenseSparsity,
        static=StaticSparsity,
        snip=SNIPSparsity,
        gmp=GMPSparsity,
        set=SETSparsity,
        rigl=RigLSparsity,
    ),
    type_check=AbsSparsity,
    default=None,
    optional=True,
)

__all__ = [
    "AbsSparsity",
    "ContinuousSparsification",
    "DenseSparsity",
    "GMPSparsity",
    "MSRSSparsity",
    "RigLSparsity",
    "SETSparsity",
    "SNIPSparsity",
    "StaticSparsity",
    "sparsity_choices",
]
