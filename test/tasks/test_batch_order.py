"""Seeded key order for ESPnet's length-based samplers (``--shuffle_length_ties``)."""

from pathlib import Path

import pytest

from msrs.tasks.avsr_testing import data_args, parse_config, tiny_config, write_tiny_corpus
from msrs.tasks.batch_order import shuffled_shape_file


def _write(path: Path, rows):
    path.write_text("".join(f"{k} {v}\n" for k, v in rows))
    return path


def test_shuffled_copy_is_a_seeded_permutation(tmp_path):
    rows = [(f"spk{i // 10}_{i:03d}", "50,32,32") for i in range(40)]
    src = _write(tmp_path / "video_shape", rows)
    a = Path(shuffled_shape_file(src, tmp_path / "o1", seed=3))
    b = Path(shuffled_shape_file(src, tmp_path / "o2", seed=3))
    c = Path(shuffled_shape_file(src, tmp_path / "o3", seed=4))
    assert a.name == "train_video_shape" and a.parent == tmp_path / "o1"
    lines = a.read_text().splitlines()
    assert sorted(lines) == sorted(src.read_text().splitlines())
    assert lines != src.read_text().splitlines()
    assert a.read_text() == b.read_text()
    assert a.read_text() != c.read_text()
    assert not list((tmp_path / "o1").glob(".*tmp"))


def test_empty_shape_file_is_an_error_naming_it(tmp_path):
    src = tmp_path / "video_shape"
    src.write_text("\n")
    with pytest.raises(ValueError, match="video_shape: shape file is empty"):
        shuffled_shape_file(src, tmp_path / "o", seed=0)


def _train_batches(tmp_path, shuffle: bool):
    """Training batches of AVSRTask's iterator factory over 24 equal-length utterances."""
    from espnet2.train.distributed_utils import DistributedOption

    from msrs.tasks.avsr import AVSRTask

    corpus = write_tiny_corpus(tmp_path / "c", sets={"train": 24, "valid": 2})
    keys = [line.split()[0] for line in (corpus["train"] / "text").read_text().splitlines()]
    shapes = tmp_path / "shapes"
    shapes.mkdir(exist_ok=True)
    video = _write(shapes / "video_shape", [(k, "20,32,32") for k in keys])
    text = _write(shapes / "text_shape", [(k, "5") for k in keys])
    out = tmp_path / ("exp_shuffled" if shuffle else "exp_keyorder")
    args = parse_config(
        tiny_config("vsr", batch_type="length", batch_bins=100),
        extra=[
            *data_args(corpus["train"], "vsr"),
            "--train_shape_file", str(video),
            "--train_shape_file", str(text),
            "--output_dir", str(out),
            "--shuffle_length_ties", str(shuffle).lower(),
        ],
    )
    factory = AVSRTask.build_iter_factory(
        args, DistributedOption(distributed=False), mode="train"
    )
    return keys, [list(b) for b in factory.inner.sampler.batches], out


def test_equal_length_batches_mix_key_order_only_when_asked(tmp_path):
    keys, plain, out_plain = _train_batches(tmp_path, shuffle=False)
    pos = {k: i for i, k in enumerate(keys)}
    assert len(plain) > 3 and all(len(b) > 1 for b in plain)

    def spread(b):
        return max(pos[k] for k in b) - min(pos[k] for k in b)

    # key order: every batch is a run of neighbouring keys (one speaker in a real corpus)
    assert all(spread(b) == len(b) - 1 for b in plain)
    assert not (out_plain / ".batch_order").exists()

    keys2, mixed, out = _train_batches(tmp_path, shuffle=True)
    assert keys2 == keys
    assert sorted(k for b in mixed for k in b) == sorted(keys)
    assert any(spread(b) > len(b) - 1 for b in mixed)
    assert (out / ".batch_order" / "train_video_shape").is_file()
    # same seed, same batches (all ranks of a distributed job agree)
    _, again, _ = _train_batches(tmp_path / "again", shuffle=True)
    assert again == mixed
