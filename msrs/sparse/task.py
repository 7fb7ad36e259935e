"""Mixin that adds the sparsity registry and trainer to an ESPnet task.

Usage::

    class AVSRTask(SparsityTaskMixin, ASRTask):
        class_choices_list = [..., sparsity_choices]

        @classmethod
        def build_model(cls, args):
            model = ...
            cls.attach_sparsity(args, model)
            return model

SCAFFOLD: the sparse-core work adds optimizer parameter groups for mask logits.
"""

import argparse

import torch

from msrs.sparse import sparsity_choices
from msrs.sparse.trainer import MsrsTrainer


class SparsityTaskMixin:
    """Adds ``--sparsity``/``--sparsity_conf`` handling and ``MsrsTrainer``."""

    trainer = MsrsTrainer

    @classmethod
    def attach_sparsity(cls, args: argparse.Namespace, model: torch.nn.Module) -> None:
        """Build the configured sparsity method and attach it to ``model``."""
        sparsity_class = sparsity_choices.get_class(getattr(args, "sparsity", None))
        if sparsity_class is None:
            return
        sparsity = sparsity_class(**(getattr(args, "sparsity_conf", None) or {}))
        sparsity.attach(model)
