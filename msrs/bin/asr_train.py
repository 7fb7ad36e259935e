"""Train an audio-only ESPnet ASR model with msrs sparsity (``SparseASRTask``).

Every ``espnet2.bin.asr_train`` option works, plus ``--sparsity``,
``--sparsity_conf`` and ``--grad_flow_interval``.

Examples:
    python -m msrs.bin.asr_train --print_config --sparsity msrs
    python -m msrs.bin.asr_train --config conf/train_asr.yaml --sparsity rigl ...
"""

from typing import Optional, Sequence

from msrs.tasks.asr import SparseASRTask


def get_parser():
    """The full ESPnet ASR + sparsity argument parser."""
    return SparseASRTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Run training (or collect-stats / print-config) with ``cmd`` or ``sys.argv``."""
    SparseASRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
