"""Import ESPnet task modules without network stalls or download noise.

``espnet2.tasks.asr`` imports ``g2p_en``, which calls ``nltk.download`` at
import time when its corpora are missing.  Offline, or behind a firewall that
drops packets instead of refusing them, that download can print pages of errors
or block on a socket without timeout.  :func:`import_espnet` bounds every socket
operation during the import and routes the download chatter to ``logging``.
"""

import contextlib
import importlib
import io
import logging
import socket
import sys
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
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            mod = importlib.import_module(module)
    finally:
        socket.setdefaulttimeout(previous)
    chatter = (out.getvalue() + err.getvalue()).strip()
    if chatter:
        logging.getLogger(__name__).debug("output while importing %s:\n%s", module, chatter)
    return mod
