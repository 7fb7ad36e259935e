"""python -m msrs.bin.synth_corpus: corpus and babble modes, errors."""

import subprocess
import sys

import soundfile

from msrs.bin.synth_corpus import main
from msrs.data.lrs3_prep import scan_corpus

SMALL = [
    "--preset",
    "tiny",
    "--num_train_speakers",
    "1",
    "--num_test_speakers",
    "1",
    "--trainval_per_speaker",
    "1",
    "--pretrain_per_speaker",
    "0",
    "--test_per_speaker",
    "1",
    "--babble_seconds",
    "0",
    "--frame_size",
    "128",
]


def test_corpus_mode_and_resume(tmp_path, caplog):
    out = tmp_path / "c"
    assert main(["--out", str(out), *SMALL, "--progress", "false"]) == 0
    clips = scan_corpus(out)
    assert sorted(c.split for c in clips) == ["test", "trainval"]
    assert all(c.txt.is_file() for c in clips)
    assert not (out / "noise").exists()
    caplog.clear()
    assert main(["--out", str(out), *SMALL, "--progress", "false"]) == 0
    assert '"skipped_speakers": 2' in caplog.text


def test_babble_mode(tmp_path):
    wav = tmp_path / "n" / "babble.wav"
    assert (
        main(["--babble", str(wav), "--babble_seconds", "1.5", "--babble_talkers", "2"])
        == 0
    )
    info = soundfile.info(str(wav))
    assert (
        info.samplerate == 16000 and info.frames == 24000 and info.subtype == "PCM_16"
    )


def test_bad_arguments_give_clear_errors(tmp_path, caplog):
    assert main([]) == 1
    assert "give --out DIR" in caplog.text
    assert main(["--out", str(tmp_path / "x"), "--pretrain_sentences", "3"]) == 1
    assert "--pretrain_sentences: expected 'min,max'" in caplog.text
    (tmp_path / "y").mkdir()
    assert main(["--out", str(tmp_path / "y"), *SMALL, "--progress", "false"]) == 0
    assert (
        main(
            ["--out", str(tmp_path / "y"), *SMALL, "--seed", "3", "--progress", "false"]
        )
        == 1
    )
    assert "other settings" in caplog.text


def test_help_runs_as_a_module():
    out = subprocess.run(
        [sys.executable, "-m", "msrs.bin.synth_corpus", "--help"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "--preset" in out.stdout and "--babble" in out.stdout
