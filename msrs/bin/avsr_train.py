"""Train a VSR / ASR / AVSR model: ESPnet's training loop on ``AVSRTask``.

Every ESPnet training option works (``--config``, ``--ngpu``,
``--multiprocessing_distributed``, torchrun's ``WORLD_SIZE``/``RANK``/
``LOCAL_RANK``, ``--use_amp``, ``--resume``, ``--collect_stats``,
``--print_config``, ``--keep_nbest_models``, ...), plus the task options
(``--modality``, the registries and ``*_conf`` dicts, ``--sparsity``).

Examples:
    python -m msrs.bin.avsr_train --print_config
    python -m msrs.bin.avsr_train --config conf/train_vsr.yaml --modality vsr ...
"""

from typing import Optional, Sequence

from msrs.tasks.avsr import AVSRTask


def get_parser():
    """The full ESPnet + AVSRTask argument parser."""
    return AVSRTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Run training (or collect-stats / print-config) with ``cmd`` or ``sys.argv``."""
    AVSRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
