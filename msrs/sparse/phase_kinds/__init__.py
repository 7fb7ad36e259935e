"""One module per phase kind; each says what its phase does.

============  =====================================================================
kind          what it does (see :mod:`msrs.sparse.phases` for the YAML options)
============  =====================================================================
``dense``     no mask; entered from a masked phase, pruned weights restart from 0;
              logits and masks are released when no masked phase follows
``sparse``    fixed binary mask (drawn by the method's initial topology if none yet)
``search``    learned soft mask: penalty pull, temperature, flip windows, freeze
``prune``     gradual magnitude pruning on a cubic schedule
``evolve``    drop by magnitude and regrow (the method's grow rule) at intervals
============  =====================================================================

:data:`KINDS` maps a kind name to its (stateless) :class:`AbsPhaseKind`.
"""

from msrs.sparse.phase_kinds.base import AbsPhaseKind
from msrs.sparse.phase_kinds.dense import DensePhase
from msrs.sparse.phase_kinds.evolve import EvolvePhase
from msrs.sparse.phase_kinds.fixed import SparsePhase
from msrs.sparse.phase_kinds.prune import PrunePhase
from msrs.sparse.phase_kinds.search import SearchPhase

KINDS = {k.name: k for k in (DensePhase(), SparsePhase(), SearchPhase(), PrunePhase(), EvolvePhase())}

__all__ = ["AbsPhaseKind", "KINDS"]
