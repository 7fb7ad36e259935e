"""msrs: speech recognition from lips, audio or both, trained from scratch with MSRS.

The package extends ESPnet (used as a library).  Sub-packages:

- ``msrs.sparse``: learned sparse masks (MSRS) and sparse-training baselines.
- ``msrs.nets``: video/audio frontends, fusion and the audio-visual model.
- ``msrs.tasks``: ESPnet tasks (``AVSRTask``) with msrs registries.
- ``msrs.data``: LRS3 preparation, mouth-ROI extraction, synthetic corpus.
- ``msrs.bin``: command-line tools (``python -m msrs.bin.<tool>``).
"""

__version__ = "0.1.0"
