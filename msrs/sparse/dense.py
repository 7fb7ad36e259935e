"""Dense baseline: masks installed in identity mode, never changed.

Same grammar and outputs as the sparse methods (density 1.0 logged), so a
dense run and a sparse run produce comparable ``sparsity.jsonl`` and
gradient-flow files.  For a model without any mask machinery, leave
``--sparsity`` unset instead (gradient flow still works).
"""

from typing import Any, Dict, List

from msrs.sparse.abs_sparsity import AbsSparsity


class DenseSparsity(AbsSparsity):
    """Dense baseline (registry key ``dense``)."""

    method_name = "dense"
    supported_phases = ("dense",)

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "dense"}]
