"""Tests of the msrs.bin.avsr_inference and msrs.bin.lm_train entry points."""

from pathlib import Path

import pytest
import yaml

from msrs.bin import avsr_inference, avsr_train, lm_train
from msrs.tasks.avsr_testing import (
    TOKENS,
    tiny_config,
    train_command,
    write_tiny_corpus,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """An untrained tiny AVSR model (config only: dry run) and a tiny corpus."""
    root = tmp_path_factory.mktemp("avsr_inference")
    corpus = write_tiny_corpus(root, sets=dict(train=2, valid=5))
    cfg = root / "c.yaml"
    conf = tiny_config("avsr")
    conf["preprocessor_conf"]["noise_file"] = str(corpus["noise"])
    cfg.write_text(yaml.safe_dump(conf))
    avsr_train.main(
        train_command(corpus, cfg, root / "exp", "avsr", extra=["--dry_run", "true"])
    )
    return root, corpus, root / "exp" / "config.yaml"


def _data(corpus, names=("video", "speech")):
    out = []
    if "video" in names:
        out += [
            "--data_path_and_name_and_type",
            f"{corpus['valid']}/video.scp,video,video",
        ]
    if "speech" in names:
        out += [
            "--data_path_and_name_and_type",
            f"{corpus['valid']}/wav.scp,speech,sound",
        ]
    return out


def _read(path: Path):
    return dict(
        (line.split(maxsplit=1) + [""])[:2] for line in path.read_text().splitlines()
    )


def test_nbest_layout_key_file_and_failed_utterances(setup, tmp_path):
    root, corpus, config = setup
    uids = sorted(_read(corpus["valid"] / "text"))
    # one utterance lists a missing video: it must get an empty hypothesis
    scp = tmp_path / "video.scp"
    lines = (corpus["valid"] / "video.scp").read_text().splitlines()
    lines[1] = f"{uids[1]} {tmp_path}/missing.npy"
    scp.write_text("\n".join(lines) + "\n")
    keys = tmp_path / "keys"
    keys.write_text("\n".join(uids[:3]) + "\n")
    out = tmp_path / "out"
    avsr_inference.main(
        [
            "--output_dir",
            str(out),
            "--asr_train_config",
            str(config),
            "--allow_untrained",
            "true",
            "--data_path_and_name_and_type",
            f"{scp},video,video",
            "--data_path_and_name_and_type",
            f"{corpus['valid']}/wav.scp,speech,sound",
            "--key_file",
            str(keys),
            "--beam_size",
            "3",
            "--nbest",
            "2",
            "--num_workers",
            "0",
            "--maxlenratio",
            "-3",
        ]
    )
    for n in (1, 2):
        for name in ("text", "token", "token_int", "score"):
            assert (out / f"{n}best_recog" / name).exists()
    one = _read(out / "1best_recog" / "token_int")
    assert sorted(one) == uids[:3]
    assert one[uids[1]] == ""
    assert _read(out / "1best_recog" / "score")[uids[1]] == "-inf"
    # maxlenratio -3: at most 3 tokens
    assert all(len(v.split()) <= 3 for v in one.values())
    failed = (out / "failed_utts.txt").read_text()
    assert failed.startswith(f"{uids[1]} MediaError") and "missing.npy" in failed
    tokens = _read(out / "1best_recog" / "token")
    for uid in (uids[0], uids[2]):
        assert tokens[uid].split() == [TOKENS[int(i)] for i in one[uid].split()]


def test_noisy_decoding_is_reproducible_and_differs_from_clean(setup, tmp_path):
    root, corpus, config = setup
    kw = dict(
        data_path_and_name_and_type=[
            (f"{corpus['valid']}/video.scp", "video", "video"),
            (f"{corpus['valid']}/wav.scp", "speech", "sound"),
        ],
        asr_train_config=str(config),
        allow_untrained=True,
        beam_size=2,
        num_workers=0,
        maxlenratio=-2,
    )
    a = avsr_inference.inference(output_dir=str(tmp_path / "a"), snr=-5.0, **kw)
    avsr_inference.inference(output_dir=str(tmp_path / "b"), snr=-5.0, **kw)
    avsr_inference.inference(output_dir=str(tmp_path / "c"), **kw)
    score = lambda d: _read(tmp_path / d / "1best_recog" / "score")  # noqa: E731
    assert score("a") == score("b")
    assert score("a") != score("c")
    assert a["utterances"] == 5 and a["media_seconds"] > 0


def test_decoding_errors_name_the_problem(setup, tmp_path):
    root, corpus, config = setup
    with pytest.raises(FileNotFoundError, match="valid.acc.ave.pth does not exist"):
        avsr_inference.main(
            ["--output_dir", str(tmp_path / "o"), "--asr_train_config", str(config)]
            + _data(corpus)
        )
    base = ["--output_dir", str(tmp_path / "o"), "--asr_train_config", str(config)]
    base += ["--allow_untrained", "true"]
    with pytest.raises(ValueError, match=r"the model is avsr: .* needs \['speech'\]"):
        avsr_inference.main(base + _data(corpus, ("video",)))
    with pytest.raises(ValueError, match="nbest"):
        avsr_inference.main(base + _data(corpus) + ["--nbest", "5", "--beam_size", "2"])
    text = ["--data_path_and_name_and_type", f"{corpus['valid']}/text,text,text"]
    with pytest.raises(ValueError, match=r"data name\(s\) \['text'\] are not used"):
        avsr_inference.main(base + _data(corpus) + text)


def test_lm_train_entry_trains_an_lm_used_in_shallow_fusion(setup, tmp_path):
    root, corpus, config = setup
    text = corpus["valid"] / "text"
    shape = tmp_path / "text_shape"
    shape.write_text("".join(f"{u} {len(t)}\n" for u, t in _read(text).items()))
    lm_cfg = tmp_path / "lm.yaml"
    lm_cfg.write_text(
        yaml.safe_dump(
            dict(
                lm="seq_rnn",
                lm_conf=dict(unit=16, nlayers=1),
                max_epoch=1,
                batch_size=2,
                batch_type="sorted",
                num_workers=0,
                use_matplotlib=False,
                num_att_plot=0,
                optim="adam",
                optim_conf=dict(lr=0.01),
            )
        )
    )
    lm_train.main(
        [
            "--config",
            str(lm_cfg),
            "--token_type",
            "char",
            "--token_list",
            str(corpus["token_list"]),
            "--output_dir",
            str(tmp_path / "lm"),
            "--train_data_path_and_name_and_type",
            f"{text},text,text",
            "--valid_data_path_and_name_and_type",
            f"{text},text,text",
            "--train_shape_file",
            str(shape),
            "--valid_shape_file",
            str(shape),
            "--ngpu",
            "0",
        ]
    )
    lm_file = tmp_path / "lm" / "1epoch.pth"
    assert lm_file.exists()
    out = tmp_path / "out"
    avsr_inference.main(
        [
            "--output_dir",
            str(out),
            "--asr_train_config",
            str(config),
            "--allow_untrained",
            "true",
            "--lm_train_config",
            str(tmp_path / "lm" / "config.yaml"),
            "--lm_file",
            str(lm_file),
            "--lm_weight",
            "0.5",
            "--beam_size",
            "2",
            "--num_workers",
            "0",
            "--maxlenratio",
            "-2",
        ]
        + _data(corpus)
    )
    assert len(_read(out / "1best_recog" / "score")) == 5


def test_an_utterance_failing_in_the_model_does_not_stop_decoding():
    import torch

    class Flaky:
        def decode_batch(self, keys, batch):
            assert batch["video"].shape[1] == int(batch["video_lengths"].max())
            if "bad" in keys:
                raise ValueError("utterance 'bad': video has 9 frames but audio 3")
            return [[("A", ["A"], [3], -1.0)] for _ in keys]

    batch = {
        "video": torch.zeros(3, 9, 4, 4),
        "video_lengths": torch.tensor([9, 5, 7]),
    }
    failures = []
    out = avsr_inference._decode_safely(Flaky(), ["u1", "bad", "u3"], batch, failures)
    assert out[0][0][0] == "A" and out[1] is None and out[2][0][0] == "A"
    assert failures == [
        ("bad", "ValueError: utterance 'bad': video has 9 frames but audio 3")
    ]


def test_missing_model_files_are_named_before_anything_is_built(tmp_path):
    """Issue 13, point 6: a missing checkpoint says which stage makes it, at once."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text("modality: vsr\n")
    base = ["--output_dir", str(tmp_path / "o"), "--data_path_and_name_and_type", "v.scp,video,video"]
    with pytest.raises(SystemExit, match=r"--asr_model_file .*nope.pth: no such file \(written by training \(stage 7"):
        avsr_inference.main(base + ["--asr_train_config", str(cfg), "--asr_model_file", str(tmp_path / "nope.pth")])
    with pytest.raises(SystemExit, match=r"--asr_train_config .*: no such file \(written by training, stage 7"):
        avsr_inference.main(base + ["--asr_train_config", str(tmp_path / "none.yaml")])
