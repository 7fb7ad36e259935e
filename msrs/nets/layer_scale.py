"""LayerScale (Touvron et al., CaiT, 2021) for ESPnet encoders, by configuration.

LayerScale multiplies the output of every residual branch by a learnable
per-channel vector initialised to a small value, so a deep encoder starts
close to the identity.  The MSRS paper pairs it with MSRS.

:func:`apply_layer_scale` wraps the residual-branch submodules of each layer
of an ESPnet encoder in :class:`LayerScale`, which computes
``gamma * branch(...)``.  ESPnet's layer code is untouched: a layer computes
``x + dropout(self.<branch>(...))`` and now receives the scaled output.  The
branches per layer type are:

==============================  =============================================
layer class (ESPnet)            wrapped residual branches
==============================  =============================================
conformer ``EncoderLayer``      feed_forward_macaron, self_attn (or
                                concat_linear), conv_module, feed_forward
transformer ``EncoderLayer``    self_attn (or concat_linear), feed_forward
``EBranchformerEncoderLayer``   feed_forward_macaron, merge_proj, feed_forward
``BranchformerEncoderLayer``    merge_proj
==============================  =============================================

Wrapped parameters are renamed ``<branch>.branch.<name>``; the scale is
``<branch>.gamma``.  The default initial value follows CaiT's depth rule
(:func:`cait_init`); pass a float to override it.
"""

import logging
from typing import Dict, List, Optional, Sequence, Tuple, Type

import torch

logger = logging.getLogger(__name__)


def cait_init(depth: int) -> float:
    """CaiT's initial LayerScale value for a network of ``depth`` blocks.

    0.1 up to 18 blocks, 1e-5 up to 24 blocks, 1e-6 beyond (CaiT, §3).
    """
    if depth <= 18:
        return 0.1
    if depth <= 24:
        return 1e-5
    return 1e-6


class LayerScale(torch.nn.Module):
    """Wrap a residual branch and scale its output per channel.

    Args:
        branch: the wrapped module; its output is a ``(..., dim)`` tensor or a
            tuple whose first element is (only that element is scaled).
        dim: number of channels (last axis of the output).
        init_value: initial value of every entry of ``gamma``.
    """

    def __init__(self, branch: torch.nn.Module, dim: int, init_value: float):
        super().__init__()
        self.branch = branch
        self.gamma = torch.nn.Parameter(torch.full((dim,), float(init_value)))

    def forward(self, *args, **kwargs):
        """Return ``gamma * branch(*args, **kwargs)``."""
        out = self.branch(*args, **kwargs)
        if isinstance(out, tuple):
            return (out[0] * self.gamma,) + tuple(out[1:])
        return out * self.gamma

    def extra_repr(self) -> str:
        return f"dim={self.gamma.numel()}"


def _branch_table() -> List[Tuple[Type[torch.nn.Module], Sequence[str]]]:
    from espnet2.asr.encoder.branchformer_encoder import BranchformerEncoderLayer
    from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoderLayer
    from espnet.nets.pytorch_backend.conformer.encoder_layer import (
        EncoderLayer as ConformerLayer,
    )
    from espnet.nets.pytorch_backend.transformer.encoder_layer import (
        EncoderLayer as TransformerLayer,
    )

    return [
        (
            ConformerLayer,
            (
                "feed_forward_macaron",
                "self_attn",
                "concat_linear",
                "conv_module",
                "feed_forward",
            ),
        ),
        (TransformerLayer, ("self_attn", "concat_linear", "feed_forward")),
        (
            EBranchformerEncoderLayer,
            ("feed_forward_macaron", "merge_proj", "feed_forward"),
        ),
        (BranchformerEncoderLayer, ("merge_proj",)),
    ]


def _residual_branches(layer: torch.nn.Module) -> Optional[List[str]]:
    for cls, names in _branch_table():
        if type(layer) is cls:
            chosen = []
            for name in names:
                if getattr(layer, name, None) is None:
                    continue
                # NOTE(msrs): with concat_after the residual branch is
                # concat_linear(cat(x, self_attn(x))): scale that one only.
                if name == "self_attn" and getattr(layer, "concat_after", False):
                    continue
                if name == "concat_linear" and not getattr(
                    layer, "concat_after", False
                ):
                    continue
                chosen.append(name)
            return chosen
    return None


def _encoder_layers(encoder: torch.nn.Module) -> List[torch.nn.Module]:
    layers = getattr(encoder, "encoders", None)
    if layers is None:
        raise ValueError(
            f"LayerScale: {type(encoder).__name__} has no 'encoders' layer stack; "
            "supported are ESPnet's conformer, transformer, branchformer and "
            "e_branchformer encoders"
        )
    return list(layers)


def apply_layer_scale(
    encoder: torch.nn.Module, dim: int, init_value: Optional[float] = None
) -> Dict[str, float]:
    """Wrap the residual branches of every layer of ``encoder`` in :class:`LayerScale`.

    Args:
        encoder: an ESPnet encoder with an ``encoders`` layer stack (conformer,
            transformer, branchformer, e_branchformer and their variants built
            from the same layer classes).
        dim: encoder width (``encoder.output_size()``).
        init_value: initial scale; ``None`` uses :func:`cait_init` of the depth.

    Returns:
        ``{"depth": number of layers, "init_value": value used,
        "branches": number of wrapped branches}``.

    Raises:
        ValueError: unknown layer type or already wrapped encoder.
    """
    layers = _encoder_layers(encoder)
    depth = len(layers)
    value = cait_init(depth) if init_value is None else float(init_value)
    wrapped = 0
    for i, layer in enumerate(layers):
        names = _residual_branches(layer)
        if names is None:
            raise ValueError(
                f"LayerScale: unsupported encoder layer {type(layer).__module__}."
                f"{type(layer).__name__} (layer {i} of {type(encoder).__name__})"
            )
        for name in names:
            branch = getattr(layer, name)
            if isinstance(branch, LayerScale):
                raise ValueError(f"LayerScale: layer {i}.{name} is already wrapped")
            setattr(layer, name, LayerScale(branch, dim, value))
            wrapped += 1
    logger.info(
        "LayerScale on %s: %d layers, %d branches, init %g",
        type(encoder).__name__,
        depth,
        wrapped,
        value,
    )
    return {"depth": depth, "init_value": value, "branches": wrapped}
