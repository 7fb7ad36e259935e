"""``python -m msrs.bin.finetune_config``: a packed model's config and tokens for fine-tuning."""

import shlex

import pytest
import torch
import yaml

from msrs.bin import avsr_train, finetune_config
from msrs.tasks.avsr import AVSRTask
from msrs.tasks.avsr_testing import TOKENS, tiny_config, train_command, write_tiny_corpus
from msrs.utils.model_archive import pack


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """An untrained tiny VSR model, packed with ROI options (training noise file set)."""
    root = tmp_path_factory.mktemp("ft")
    corpus = write_tiny_corpus(root, sets=dict(train=2, valid=2))
    conf = tiny_config("vsr")
    conf["preprocessor_conf"]["noise_file"] = str(corpus["noise"])
    (root / "c.yaml").write_text(yaml.safe_dump(conf))
    avsr_train.main(train_command(corpus, root / "c.yaml", root / "exp", "vsr", extra=["--dry_run", "true"]))
    model, _ = AVSRTask.build_model_from_file(root / "exp" / "config.yaml", None, "cpu")
    torch.save(model.state_dict(), root / "model.pth")
    pack(root / "exp" / "config.yaml", root / "model.pth", root / "m.tar.gz", roi_opts="--crop_size 32")
    return root / "m.tar.gz"


def _run(archive, tmp_path, capsys, *extra):
    (tmp_path / "over.yaml").write_text("optim_conf:\n    lr: 1.0e-5\nmax_epoch: 3\n")
    assert finetune_config.main([
        "--model_archive", str(archive), "--overrides", str(tmp_path / "over.yaml"),
        "--out", str(tmp_path / "ft.yaml"), "--token_listdir", str(tmp_path / "tok"), *extra,
    ]) == 0  # fmt: skip
    printed = dict(shlex.split(line)[0].split("=", 1) for line in capsys.readouterr().out.splitlines())
    return yaml.safe_load((tmp_path / "ft.yaml").read_text()), printed


def test_config_keeps_the_model_drops_the_run_and_merges_overrides(archive, tmp_path, capsys):
    conf, printed = _run(archive, tmp_path, capsys)
    assert conf["encoder_conf"]["output_size"] == 32 and conf["modality"] == "vsr"
    assert conf["optim_conf"]["lr"] == 1.0e-5 and conf["max_epoch"] == 3
    assert conf["optim"] == "adam"  # not overridden: the packed run's
    for gone in ("output_dir", "train_data_path_and_name_and_type", "token_list", "init_param", "train_shape_file"):
        assert gone not in conf
    assert "noise_file" not in conf["preprocessor_conf"]  # the training machine's path
    # the model's own tokens, marked as stage 4's output, and the shell assignments
    tokdir = tmp_path / "tok" / "char"
    assert (tokdir / "tokens.txt").read_text().split() == TOKENS and (tokdir / ".done.stage4").is_file()
    assert printed["model_token_type"] == "char" and printed["model_modality"] == "vsr"
    assert printed["archive_roi_opts"] == "--crop_size 32"
    assert printed["init_args"] == f"--init_param {printed['init_param']}"


def test_new_tokens_start_the_vocabulary_layers_from_scratch(archive, tmp_path, capsys):
    conf, printed = _run(archive, tmp_path, capsys, "--new_tokens", "true")
    assert not (tmp_path / "tok").exists()  # stage 4 makes the new list
    assert printed["init_args"].endswith("--ignore_init_mismatch true")
    # ESPnet's loader, as training calls it: a model with 3 more units takes every other weight
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    (tmp_path / "ft.yaml").write_text(yaml.safe_dump({**conf, "token_list": TOKENS[:-1] + ["Ж", "Щ", "Ё", "<sos/eos>"]}))
    model, _ = AVSRTask.build_model_from_file(tmp_path / "ft.yaml", None, "cpu")
    load_pretrained_model(printed["init_param"], model, ignore_init_mismatch=True)
    src = torch.load(printed["init_param"], map_location="cpu")
    dst = model.state_dict()
    assert torch.equal(dst["video_frontend.stem.0.weight"], src["video_frontend.stem.0.weight"])
    assert dst["decoder.output_layer.weight"].shape[0] == src["decoder.output_layer.weight"].shape[0] + 3
