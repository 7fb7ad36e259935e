"""The environment the installer builds imports what msrs is built on."""

import subprocess
import sys
import time


def test_msrs_and_espnet_asr_task_import_offline_in_bounded_time():
    # A fresh interpreter, so the nltk download attempt in g2p_en really runs.
    code = (
        "import msrs; from msrs.utils.espnet_import import import_espnet; "
        "m = import_espnet('espnet2.tasks.asr'); print(m.ASRTask.__name__)"
    )
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ASRTask"
    assert "nltk_data" not in out.stdout + out.stderr
    assert time.time() - t0 < 300


def test_media_libraries_import():
    import av
    import cv2
    import espeakng_loader
    import mediapipe  # noqa: F401

    assert av.codec.Codec("h264", "w") is not None
    assert cv2.__version__
    assert espeakng_loader.get_library_path()


def test_import_espnet_keeps_real_stdout_for_print_config():
    # Functions defined during the import bind sys.stdout as a default argument;
    # --print_config must still reach the terminal.
    code = (
        "from msrs.utils.espnet_import import import_espnet; "
        "m = import_espnet('espnet2.tasks.asr'); "
        "m.ASRTask.main(cmd=['--print_config'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "encoder:" in out.stdout and "nltk_data" not in out.stdout + out.stderr
