"""Mixin that adds the sparsity registry, the optimizer groups and ``MsrsTrainer``.

Usage::

    class AVSRTask(SparsityTaskMixin, ASRTask):
        class_choices_list = [..., sparsity_choices]

        @classmethod
        def build_model(cls, args):
            model = ...
            cls.attach_sparsity(args, model)
            return model
"""

import argparse
import logging
import sys
from typing import List, Optional, TextIO

import torch

from msrs.sparse import sparsity_choices
from msrs.sparse.abs_sparsity import AbsSparsity
from msrs.sparse.trainer import MsrsTrainer

logger = logging.getLogger(__name__)


class SparsityTaskMixin:
    """Adds ``--sparsity``/``--sparsity_conf`` handling and ``MsrsTrainer``."""

    trainer = MsrsTrainer

    @classmethod
    def print_config(cls, file: Optional[TextIO] = None) -> None:
        """ESPnet's ``--print_config``, written to the *current* ``sys.stdout``.

        ``AbsTask.print_config`` binds ``sys.stdout`` as a default argument
        when ``espnet2.tasks.abs_task`` is imported; under
        ``msrs.utils.espnet_import.import_espnet`` that is a temporary buffer,
        so the config would be lost.
        """
        super().print_config(file=file if file is not None else sys.stdout)

    @classmethod
    def attach_sparsity(cls, args: argparse.Namespace, model: torch.nn.Module) -> Optional[AbsSparsity]:
        """Build the configured sparsity method and attach it to ``model``.

        Call it last in ``build_model``.  Returns the method object, or
        ``None`` when ``--sparsity`` is unset.

        Raises:
            ValueError: unknown method or invalid ``--sparsity_conf`` (the
                message names the option).
        """
        sparsity_class = sparsity_choices.get_class(getattr(args, "sparsity", None))
        if sparsity_class is None:
            return None
        conf = dict(getattr(args, "sparsity_conf", None) or {})
        try:
            sparsity = sparsity_class(**conf)
        except TypeError as e:
            raise ValueError(f"--sparsity_conf for '{args.sparsity}': {e}") from e
        sparsity.attach(model)
        return sparsity

    @classmethod
    def build_optimizers(cls, args: argparse.Namespace, model: torch.nn.Module) -> List[torch.optim.Optimizer]:
        """ESPnet's optimizers, with mask logits moved to their own param group.

        The logits group has ``weight_decay = mask_weight_decay`` (0 by
        default) and the weights' learning rate; ``mask_lr_scale`` is applied
        around each optimizer step (a step pre-hook multiplies the group's
        ``lr`` by its ``lr_scale``, the post-hook divides it back), so it holds
        under any scheduler, also those that write one lr into every group
        (ESPnet's ``cosineannealingwarmuprestarts``).  The logged
        ``optim0_lr1`` is therefore the unscaled lr.  Every optimizer is
        registered with the sparsity object (step hooks).
        """
        optimizers = super().build_optimizers(args, model)
        sparsity = getattr(model, "sparsity", None)
        if not isinstance(sparsity, AbsSparsity):
            return optimizers
        logits = sparsity.logit_parameters
        if logits:
            if getattr(args, "sharded_ddp", False):
                raise ValueError("--sharded_ddp is not supported with a search sparsity method")
            ids = {id(p) for p in logits}
            opt = optimizers[0]
            for group in opt.param_groups:
                group["params"] = [p for p in group["params"] if id(p) not in ids]
            opt.param_groups = [g for g in opt.param_groups if g["params"]]
            lr = opt.defaults.get("lr", 0.0)
            scale = float(getattr(sparsity, "mask_lr_scale", 1.0))
            group = {"params": logits, "lr": lr, LR_SCALE_KEY: scale}
            if "weight_decay" in opt.defaults:
                group["weight_decay"] = getattr(sparsity, "mask_weight_decay", 0.0)
            opt.add_param_group(group)
            if scale != 1.0:
                opt.register_step_pre_hook(_scale_lr_up)
                opt.register_step_post_hook(_scale_lr_down)
            logger.info(
                "sparsity: %d mask-logit tensors in their own param group "
                "(lr x %g of the weights', weight_decay %s)",
                len(logits), scale, group.get("weight_decay"),
            )
        for opt in optimizers:
            sparsity.register_optimizer(opt)
        return optimizers


#: param-group key of the learning-rate multiplier applied around each step
LR_SCALE_KEY = "lr_scale"


def _scale_lr_up(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    for group in optimizer.param_groups:
        if group.get(LR_SCALE_KEY, 1.0) != 1.0:
            group["lr"] = group["lr"] * group[LR_SCALE_KEY]


def _scale_lr_down(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    for group in optimizer.param_groups:
        if group.get(LR_SCALE_KEY, 1.0) != 1.0:
            group["lr"] = group["lr"] / group[LR_SCALE_KEY]
