"""``python -m msrs.bin.pack`` on a real (tiny) ESPnet ASR model; ESPnet loads the unpacked archive."""

import shutil
import subprocess
import sys

import numpy as np
import torch
import yaml

from msrs.bin.train_tokenizer import train_tokenizer
from msrs.utils.espnet_import import import_espnet
from msrs.utils.model_archive import unpack


def _tiny_recipe(root):
    """data/token_list, exp/asr_stats and exp/asr (config.yaml + checkpoint) like a recipe run."""
    text = root / "text"
    text.write_text(
        "".join(
            f"u{i} {t}\n"
            for i, t in enumerate(["HELLO WORLD", "THE CAT SAT ON THE MAT"] * 5)
        )
    )
    train_tokenizer(text, root / "data" / "token_list" / "bpe_unigram20", 20)
    stats = root / "exp" / "asr_stats" / "train"
    stats.mkdir(parents=True)
    np.savez(
        stats / "feats_stats.npz",
        count=np.array(10),
        sum=np.ones(8),
        sum_square=np.full(8, 2.0),
    )

    asr = import_espnet("espnet2.tasks.asr")
    exp = root / "exp" / "asr"
    exp.mkdir(parents=True)
    args = asr.ASRTask.get_parser().parse_args(
        [
            "--output_dir",
            "exp/asr",
            "--token_list",
            "data/token_list/bpe_unigram20/tokens.txt",
            "--token_type",
            "bpe",
            "--bpemodel",
            "data/token_list/bpe_unigram20/bpe.model",
            "--input_size",
            "8",
            "--normalize",
            "global_mvn",
            "--normalize_conf",
            "stats_file=exp/asr_stats/train/feats_stats.npz",
            "--encoder",
            "transformer",
            "--encoder_conf",
            "output_size=8",
            "--encoder_conf",
            "attention_heads=2",
            "--encoder_conf",
            "linear_units=16",
            "--encoder_conf",
            "num_blocks=1",
            "--encoder_conf",
            "input_layer=linear",
            "--decoder",
            "transformer",
            "--decoder_conf",
            "attention_heads=2",
            "--decoder_conf",
            "linear_units=16",
            "--decoder_conf",
            "num_blocks=1",
        ]
    )
    model = asr.ASRTask.build_model(args)  # inlines token_list, like training does
    yaml_dump = import_espnet(
        "espnet2.utils.yaml_no_alias_safe_dump"
    ).yaml_no_alias_safe_dump
    with (exp / "config.yaml").open("w") as f:
        yaml_dump(vars(args), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), exp / "valid.acc.ave_1best.pth")
    (exp / "valid.acc.ave.pth").symlink_to("valid.acc.ave_1best.pth")
    return model


def test_pack_cli_then_espnet_builds_the_model_from_the_unpacked_archive(
    tmp_path, monkeypatch
):
    recipe = tmp_path / "egs" / "x"
    recipe.mkdir(parents=True)
    monkeypatch.chdir(recipe)
    model = _tiny_recipe(recipe)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "msrs.bin.pack",
            "--config",
            "exp/asr/config.yaml",
            "--model",
            "exp/asr/valid.acc.ave.pth",
            "--out",
            "exp/asr/model.tar.gz",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    archive = tmp_path / "shared" / "model.tar.gz"
    archive.parent.mkdir()
    shutil.move(recipe / "exp" / "asr" / "model.tar.gz", archive)
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(tmp_path / "egs")

    paths = unpack(archive, tmp_path / "cache")
    asr = import_espnet("espnet2.tasks.asr")
    loaded, args = asr.ASRTask.build_model_from_file(
        paths["asr_train_config"], paths["asr_model_file"], "cpu"
    )
    for (k, v), (k2, v2) in zip(
        model.state_dict().items(), loaded.state_dict().items()
    ):
        assert k == k2 and torch.equal(v, v2)
    assert str(loaded.normalize.stats_file).startswith(
        str((tmp_path / "cache").resolve())
    )
    tok = import_espnet("espnet2.text.build_tokenizer").build_tokenizer(
        "bpe", bpemodel=args.bpemodel
    )
    assert tok.tokens2text(tok.text2tokens("HELLO WORLD")) == "HELLO WORLD"
    cfg = yaml.safe_load(open(paths["asr_train_config"]))
    assert cfg["output_dir"] == "exp/asr"  # not a file: untouched


def test_pack_cli_error_is_one_clear_line(tmp_path):
    (tmp_path / "config.yaml").write_text("bpemodel: data/missing.model\n")
    torch.save({"w": torch.zeros(1)}, tmp_path / "m.pth")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "msrs.bin.pack",
            "--config",
            "config.yaml",
            "--model",
            "m.pth",
            "--out",
            "a.tar.gz",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 1
    assert "bpemodel = 'data/missing.model': file not found" in p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "a.tar.gz").exists()
