"""Exclusive lock on an output directory, naming its holder.

``egs/TEMPLATE/avsr.sh`` locks ``<dir>/.lock`` (with ``flock``) around every
stage that writes a directory; :class:`DirLock` is the same for Python entry
points run by hand (the trainer locks ``<output_dir>/.trainer.lock``, a
different file, so the driver's lock and the trainer's never conflict).  The
lock is an ``fcntl.flock`` on an open file: the kernel drops it when the
holder dies, whatever the signal, so a stale lock file never blocks.
"""

import fcntl
import os
import socket
import sys
import time
from pathlib import Path
from typing import Optional, Union


class DirLockedError(RuntimeError):
    """Another process holds the lock; the message names it."""


class DirLock:
    """``with DirLock(dir, name):`` holds ``<dir>/<name>`` or raises at once.

    Args:
        directory: the output directory (created).
        name: lock file name inside it.
        what: what is running, for the message (e.g. ``training``).
    """

    def __init__(self, directory: Union[str, Path], name: str = ".lock", what: str = "a run"):
        self.path = Path(directory) / name
        self.what = what
        self._f = None

    def acquire(self) -> "DirLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "an unknown process"
            f.close()
            raise DirLockedError(
                f"{self.path.parent} is in use by {holder}; wait for it or stop it "
                f"(this {self.what} did not start)"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(
            f"{self.what}: pid {os.getpid()} on {socket.gethostname()} since "
            f"{time.strftime('%Y-%m-%dT%H:%M:%S')}: {' '.join(sys.argv)}\n"
        )
        f.flush()
        self._f = f
        return self

    def release(self) -> None:
        if self._f is not None:
            self._f.close()  # closing drops the flock
            self._f = None

    def holder(self) -> Optional[str]:
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def __enter__(self) -> "DirLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
