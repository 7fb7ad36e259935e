"""SparseASRTask: ESPnet's ASR task with the msrs sparsity registry.

For audio-only training with stock ESPnet models (any encoder/decoder in
ESPnet's registries) plus ``--sparsity``/``--sparsity_conf`` and the
``MsrsTrainer`` options (``--grad_flow_interval``)::

    python -m msrs.bin.asr_train --config conf/train_asr.yaml \\
        --sparsity msrs --sparsity_conf '{phases: [{name: search, end: 5}, {name: dense}]}' ...

The sparsity method is attached last in :meth:`SparseASRTask.build_model`,
after ESPnet has built and initialised the model.
"""

import argparse

from typeguard import typechecked

from msrs.utils.espnet_import import import_espnet

_asr = import_espnet("espnet2.tasks.asr")

from espnet2.asr.espnet_model import ESPnetASRModel  # noqa: E402

from msrs.sparse import sparsity_choices  # noqa: E402
from msrs.sparse.task import SparsityTaskMixin  # noqa: E402


class SparseASRTask(SparsityTaskMixin, _asr.ASRTask):
    """``ASRTask`` + ``--sparsity`` + ``MsrsTrainer``."""

    class_choices_list = list(_asr.ASRTask.class_choices_list) + [sparsity_choices]

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetASRModel:
        model = super().build_model(args)
        cls.attach_sparsity(args, model)
        return model
