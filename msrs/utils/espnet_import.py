"""Import ESPnet task modules without network stalls or download noise.

``espnet2.tasks.asr`` imports ``g2p_en``, which calls ``nltk.download`` at
import time when its corpora are missing.  Offline, or behind a firewall that
drops packets instead of refusing them, that download can print pages of errors
or block on a socket without timeout.  :func:`import_espnet` bounds every socket
operation during the import and routes the download chatter to ``logging``.

The chatter is captured at the file-descriptor level, not by swapping
``sys.stdout``/``sys.stderr``: functions defined during the import bind those
objects as default arguments (e.g. ``AbsTask.print_config(file=sys.stdout)``),
so they must stay the real streams.
"""

import contextlib
import importlib
import logging
import os
import socket
import sys
import tempfile
from types import ModuleType

_NETWORK_TIMEOUT_S = 5.0


def import_espnet(module: str = "espnet2.tasks.asr") -> ModuleType:
    """Import an ESPnet module with a bounded network timeout.

    Args:
        module: dotted module name, e.g. ``"espnet2.tasks.asr"``.

    Returns:
        The imported module.
    """
    if module in sys.modules:
        return sys.modules[module]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_NETWORK_TIMEOUT_S)
    try:
        with _capture_fds() as captured:
            mod = importlib.import_module(module)
    finally:
        socket.setdefaulttimeout(previous)
    chatter = captured.read().strip()
    if chatter:
        logging.getLogger(__name__).debug("output while importing %s:\n%s", module, chatter)
    return mod


class _Captured:
    def __init__(self) -> None:
        self.text = ""

    def read(self) -> str:
        return self.text


@contextlib.contextmanager
def _capture_fds():
    """Send file descriptors 1 and 2 to a temporary file for the block."""
    captured = _Captured()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:  # no real descriptors (embedded interpreters): do not capture
        yield captured
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            yield captured
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            captured.text = tmp.read().decode("utf-8", "replace")
