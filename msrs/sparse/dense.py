"""Dense baseline: masks installed in identity mode, never changed.

Same grammar and outputs as the sparse methods (density 1.0 logged), so a
dense run and a sparse run produce comparable ``sparsity.jsonl`` and
gradient-flow files.  For a model without any mask machinery, leave
``--sparsity`` unset instead (gradient flow still works).
"""

from typing import Any, Dict, List, Optional

from typeguard import typechecked

from msrs.sparse.abs_sparsity import AbsSparsity


class DenseSparsity(AbsSparsity):
    """Dense baseline (registry key ``dense``)."""

    method_name = "dense"
    supported_phases = ("dense",)

    @typechecked
    def __init__(
        self,
        phases: Optional[List[Dict[str, Any]]] = None,
        include: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        module_types: Optional[List[str]] = None,
        seed: int = 0,
        report_depth: int = 3,
        add_penalty_to_loss: bool = True,
    ):
        super().__init__(
            phases=phases,
            include=include,
            exclude=exclude,
            module_types=module_types,
            seed=seed,
            report_depth=report_depth,
            add_penalty_to_loss=add_penalty_to_loss,
        )

    @classmethod
    def default_phases(cls) -> List[Dict[str, Any]]:
        return [{"name": "dense"}]
