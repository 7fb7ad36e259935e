"""Imported once by the fork server of the synthesis workers (see corpus._context).

Loads the heavy modules and builds the face photo in a single-threaded
process, so each forked worker starts in milliseconds and inherits no thread
pools (OpenCV's pool does not survive ``fork`` from a threaded parent).
espeak-ng is not started here: each worker starts it fresh.
"""

import cv2

cv2.setNumThreads(1)

import scipy.signal  # noqa: E402,F401

from msrs.data import video_io  # noqa: E402,F401
from msrs.data.synth import babble, espeak, face, grammar, visemes  # noqa: E402,F401

face._neutral_photo()
