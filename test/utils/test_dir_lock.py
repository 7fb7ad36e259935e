"""msrs.utils.dir_lock: one holder per directory, the second told who it is."""

import os
import subprocess
import sys

import pytest

from msrs.utils.dir_lock import DirLock, DirLockedError


def test_second_holder_fails_at_once_naming_the_first(tmp_path):
    with DirLock(tmp_path / "exp", ".trainer.lock", "training"):
        code = (
            "import sys; from msrs.utils.dir_lock import DirLock, DirLockedError\n"
            f"try: DirLock({str(tmp_path / 'exp')!r}, '.trainer.lock', 'training').acquire()\n"
            "except DirLockedError as e: print(e); sys.exit(3)\n"
        )
        p = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, timeout=60)
        assert p.returncode == 3
        assert f"is in use by training: pid {os.getpid()} on " in p.stdout
        assert "this training did not start" in p.stdout
    # released: it can be taken again, and a dead holder never blocks
    with DirLock(tmp_path / "exp", ".trainer.lock"):
        pass


def test_lock_dies_with_its_holder(tmp_path):
    code = (
        "import os; from msrs.utils.dir_lock import DirLock\n"
        f"DirLock({str(tmp_path)!r}).acquire(); os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert "pid" in (tmp_path / ".lock").read_text()  # the file stays ...
    DirLock(tmp_path).acquire().release()  # ... but nothing holds it


def test_same_process_second_lock_object_also_refused(tmp_path):
    a = DirLock(tmp_path).acquire()
    with pytest.raises(DirLockedError, match="in use by a run: pid"):
        DirLock(tmp_path).acquire()
    a.release()
