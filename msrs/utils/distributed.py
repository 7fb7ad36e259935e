"""Helpers around ``torch.distributed`` process groups (ESPnet creates them)."""

import logging

import torch

logger = logging.getLogger(__name__)


def close_process_group() -> None:
    """End of a distributed run: every rank waits for the others, then the
    process group is destroyed before the interpreter exits.

    Rank 0 still averages the n-best models (and fixes their masks) after the
    last epoch.  ``MsrsTrainer.run`` calls this at its end, so every task on
    that trainer (AVSR, ASR) ends this way.  Without it a rank that finished
    first exited while rank 0 worked, with its gloo group alive, and could die
    of SIGABRT at exit, failing the whole torchrun job after a complete
    training.  A no-op when no process group exists.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    logger.info("training finished on every rank; process group closed")
