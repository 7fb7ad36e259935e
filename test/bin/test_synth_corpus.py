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


def _plan(*args):
    from msrs.bin.synth_corpus import build_config, get_parser
    from msrs.data.synth.corpus import plan_corpus

    config = build_config(get_parser().parse_args(["--out", "x", *args]))
    return config, plan_corpus(config)


def test_bench_preset_and_its_second_test_set_share_sizes_not_speakers():
    """Issue 12: bench has many speakers with few clips and >= 12 x 12 test
    utterances; --test2 draws the same test sizes with another seed, new
    speakers only, ids that cannot collide with the main corpus' ids."""
    config, plans = _plan("--preset", "bench")
    train = [p for p in plans if p.utts[0].split != "test"]
    test = [p for p in plans if p.utts[0].split == "test"]
    assert len(train) >= 64 and len(test) >= 12 and config.grammar == "grid"
    assert all(len(p.utts) == 12 for p in test)
    assert all(len(p.speaker) == 11 for p in plans)
    config2, plans2 = _plan("--preset", "bench", "--test2")
    assert config2.seed == config.seed + 1000 and config2.babble_seconds == 0
    assert config2.grammar == config.grammar and config2.frame_size == config.frame_size
    assert len(plans2) == 12 and all(u.split == "test" for p in plans2 for u in p.utts)
    assert all(len(p.utts) == 12 for p in plans2)
    assert all(p.speaker.startswith("t2") and len(p.speaker) == 13 for p in plans2)
    assert {p.voice.name for p in plans2} != {p.voice.name for p in test} or [
        p.look for p in plans2
    ] != [p.look for p in test]
    # demo: bench's generator settings, fewer speakers and clips; mini unchanged
    demo, demo_plans = _plan("--preset", "demo")
    assert len(demo_plans) < len(plans) and demo.grammar == config.grammar
    mini, mini_plans = _plan()
    assert (mini.num_train_speakers, mini.num_test_speakers, mini.speaker_prefix) == (16, 4, "")


def test_speaker_prefix_is_checked():
    from msrs.data.synth.corpus import CorpusConfig, plan_corpus

    import pytest

    with pytest.raises(ValueError, match="letters and digits"):
        plan_corpus(CorpusConfig(speaker_prefix="t_2"))
