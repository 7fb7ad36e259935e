"""Smoke check of the installed environment: imports and versions."""

import time

t0 = time.time()
import av  # noqa: E402
import cv2  # noqa: E402
import espeakng_loader  # noqa: E402
import mediapipe  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402

import msrs  # noqa: E402
from msrs.utils.espnet_import import import_espnet  # noqa: E402

import_espnet("espnet2.tasks.asr")
import espnet  # noqa: E402

print(
    f"[tools] environment OK in {time.time() - t0:.1f}s: msrs {msrs.__version__}, "
    f"espnet {espnet.__version__}, torch {torch.__version__}, torchaudio "
    f"{torchaudio.__version__}, numpy {numpy.__version__}, av {av.__version__}, "
    f"opencv {cv2.__version__}, mediapipe {mediapipe.__version__}, espeak-ng "
    f"{espeakng_loader.__name__}"
)
