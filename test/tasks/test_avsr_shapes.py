"""Stage-6 shapes from utt2num_frames equal ESPnet's collect-stats shapes."""

from pathlib import Path

import pytest
import yaml

from msrs.bin import avsr_shapes, avsr_train
from msrs.tasks.avsr_testing import tiny_config, train_command, write_tiny_corpus


def _read(path: Path):
    return [line.split() for line in path.read_text().splitlines()]


def _command(corpus, cfg, out, extra=()):
    shapes = []
    for phase in ("train", "valid"):
        shapes += [f"--{phase}_shape_file", str(corpus[phase] / "text")]
    return train_command(corpus, cfg, out, "avsr", extra=shapes + list(extra))


@pytest.mark.slow
def test_shapes_from_frame_counts_match_collect_stats(tmp_path, caplog):
    corpus = write_tiny_corpus(tmp_path, sets=dict(train=10, valid=3))
    # an utterance too short for CTC on its transcript: both paths leave it out
    text = corpus["train"] / "text"
    lines = text.read_text().splitlines()
    long_uid = lines[0].split()[0]
    lines[0] = f"{long_uid} " + " ".join(["ABCABC"] * 30)
    text.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config("avsr")))
    avsr_train.main(_command(corpus, cfg, tmp_path / "stats", ["--collect_stats", "true"]))
    assert avsr_shapes.main(_command(corpus, cfg, tmp_path / "fast")) == 0
    for phase in ("train", "valid"):
        for name in ("video", "speech", "text"):
            ref = _read(tmp_path / "stats" / phase / f"{name}_shape")
            got = _read(tmp_path / "fast" / phase / f"{name}_shape")
            assert got == ref, (phase, name)  # same lines, same order
    assert long_uid not in dict(_read(tmp_path / "fast" / "train" / "video_shape"))
    skipped = (tmp_path / "fast" / "train" / "skipped_utts.txt").read_text()
    assert skipped.startswith(f"{long_uid} ") and "too few for CTC" in skipped

    # a dump without frame counts is refused, naming the file
    (corpus["valid"] / "utt2num_frames").unlink()
    assert avsr_shapes.main(_command(corpus, cfg, tmp_path / "x")) == 1
    assert "valid/utt2num_frames: missing" in caplog.text
