"""pack -> move -> delete sources -> unpack, caching and error cases."""

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch
import yaml

from msrs.utils.model_archive import ArchiveError, file_sha256, pack, read_meta, unpack


def _recipe(root, inline_tokens=False):
    """A recipe tree whose exp/m/config.yaml references files by relative paths."""
    (root / "data" / "tok").mkdir(parents=True)
    (root / "exp" / "stats").mkdir(parents=True)
    (root / "exp" / "m").mkdir(parents=True)
    (root / "data" / "tok" / "tokens.txt").write_text("<blank>\n<unk>\nA\n<sos/eos>\n")
    (root / "data" / "tok" / "bpe.model").write_bytes(b"spm-bytes")
    (root / "exp" / "stats" / "feats_stats.npz").write_bytes(b"stats-bytes")
    config = {
        "token_list": (
            ["<blank>", "<unk>", "A", "<sos/eos>"]
            if inline_tokens
            else "data/tok/tokens.txt"
        ),
        "bpemodel": "data/tok/bpe.model",
        "normalize": "global_mvn",
        "normalize_conf": {"stats_file": "exp/stats/feats_stats.npz"},
        "train_data_path_and_name_and_type": [["data/tok/tokens.txt", "text", "text"]],
        "train_shape_file": ["exp/stats/feats_stats.npz"],
        "output_dir": "exp/m",
        "frontend_conf": {"cache_file": "does/not/exist.bin"},
    }
    (root / "exp" / "m" / "config.yaml").write_text(yaml.safe_dump(config))
    torch.save({"w": torch.arange(6.0)}, root / "exp" / "m" / "valid.acc.ave_3best.pth")
    (root / "exp" / "m" / "valid.acc.ave.pth").symlink_to("valid.acc.ave_3best.pth")
    return root / "exp" / "m" / "config.yaml", root / "exp" / "m" / "valid.acc.ave.pth"


def test_pack_move_delete_unpack(tmp_path, monkeypatch):
    src = tmp_path / "recipe"
    config, model = _recipe(src)
    monkeypatch.chdir(src / "exp" / "m")  # relative paths are found above the config
    arc = pack(config, model, tmp_path / "out" / "model.tar.gz")
    moved = tmp_path / "elsewhere" / "model.tar.gz"
    moved.parent.mkdir()
    shutil.move(arc, moved)
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(src)

    paths = unpack(moved, tmp_path / "unpacked")
    assert set(paths) == {"asr_train_config", "asr_model_file"}
    cfg = yaml.safe_load(open(paths["asr_train_config"]))
    root = (tmp_path / "unpacked").resolve()
    assert cfg["token_list"] == str(root / "asr" / "tokens.txt")
    assert cfg["bpemodel"] == str(root / "asr" / "bpe.model")
    assert cfg["normalize_conf"]["stats_file"] == str(root / "asr" / "feats_stats.npz")
    assert open(cfg["bpemodel"], "rb").read() == b"spm-bytes"
    assert open(cfg["normalize_conf"]["stats_file"], "rb").read() == b"stats-bytes"
    assert open(cfg["token_list"]).read().split() == [
        "<blank>",
        "<unk>",
        "A",
        "<sos/eos>",
    ]
    # training-data options and unresolved optional files are left alone
    assert cfg["train_data_path_and_name_and_type"] == [
        ["data/tok/tokens.txt", "text", "text"]
    ]
    assert cfg["train_shape_file"] == ["exp/stats/feats_stats.npz"]
    assert cfg["frontend_conf"]["cache_file"] == "does/not/exist.bin"
    assert torch.equal(torch.load(paths["asr_model_file"])["w"], torch.arange(6.0))
    meta = read_meta(root)
    assert meta["files"]["asr_model_file"] == "asr/model.pth"
    for key in (
        "msrs_version",
        "espnet_version",
        "torch_version",
        "created",
        "git_revision",
    ):
        assert meta[key]

    # cached: a second call does not extract again
    marker = root / "asr" / "bpe.model"
    marker.write_bytes(b"touched")
    assert unpack(moved, tmp_path / "unpacked") == paths
    assert marker.read_bytes() == b"touched"


def test_default_cache_dir_named_by_hash_and_concurrent_unpack(tmp_path, monkeypatch):
    config, model = _recipe(tmp_path / "r", inline_tokens=True)
    monkeypatch.chdir(tmp_path / "r")
    arc = pack(config, model, tmp_path / "m.tar")
    monkeypatch.setenv("MSRS_CACHE_DIR", str(tmp_path / "cache"))
    digest = file_sha256(arc)[:16]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(4, mp_context=ctx) as ex:
        results = list(ex.map(unpack, [arc] * 4))
    assert all(r == results[0] for r in results)
    assert f"m-{digest}" in results[0]["asr_model_file"]
    assert results[0]["asr_model_file"].startswith(str(tmp_path / "cache" / "models"))
    # the inline token list stays inline, and is also shipped as a file
    cfg = yaml.safe_load(open(results[0]["asr_train_config"]))
    assert cfg["token_list"] == ["<blank>", "<unk>", "A", "<sos/eos>"]
    tokens = tmp_path / "cache" / "models" / f"m-{digest}" / "asr" / "tokens.txt"
    assert tokens.read_text().split() == cfg["token_list"]
    leftovers = [p.name for p in (tmp_path / "cache" / "models").iterdir()]
    assert leftovers == [f"m-{digest}"]


def test_lm_is_packed_and_returned(tmp_path, monkeypatch):
    config, model = _recipe(tmp_path / "r")
    monkeypatch.chdir(tmp_path / "r")
    lm_cfg = tmp_path / "r" / "exp" / "lm" / "config.yaml"
    lm_cfg.parent.mkdir()
    lm_cfg.write_text(
        yaml.safe_dump({"token_list": "data/tok/tokens.txt", "lm": "transformer"})
    )
    torch.save({"lm.w": torch.zeros(2)}, lm_cfg.parent / "valid.loss.best.pth")
    arc = pack(
        config, model, tmp_path / "m.tgz", lm_cfg, lm_cfg.parent / "valid.loss.best.pth"
    )
    paths = unpack(arc, tmp_path / "u")
    assert set(paths) == {
        "asr_train_config",
        "asr_model_file",
        "lm_train_config",
        "lm_file",
    }
    lm = yaml.safe_load(open(paths["lm_train_config"]))
    assert lm["token_list"].endswith("lm/tokens.txt") and open(
        lm["token_list"]
    ).read().startswith("<blank>")


def test_errors_name_the_problem(tmp_path, monkeypatch):
    config, model = _recipe(tmp_path / "r")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r" / "data" / "tok" / "bpe.model").unlink()
    with pytest.raises(
        ArchiveError, match=r"bpemodel = 'data/tok/bpe.model': file not found"
    ):
        pack(config, model, tmp_path / "m.tar.gz")
    config, model = _recipe(tmp_path / "r2")
    ckpt = tmp_path / "checkpoint.pth"
    torch.save({"model": {}, "reporter": {}, "optimizers": [], "schedulers": []}, ckpt)
    with pytest.raises(ArchiveError, match="training checkpoint"):
        pack(config, ckpt, tmp_path / "m.tar.gz")
    with pytest.raises(ArchiveError, match=r"\.tar\.gz, \.tgz or \.tar"):
        pack(config, model, tmp_path / "m.zip")
    with pytest.raises(ArchiveError, match="together"):
        pack(config, model, tmp_path / "m.tar", lm_train_config=config)
    not_tar = tmp_path / "bad.tar.gz"
    not_tar.write_bytes(b"not a tar file")
    with pytest.raises(ArchiveError, match="cannot extract"):
        unpack(not_tar, tmp_path / "u")
    with pytest.raises(FileNotFoundError, match="no such model archive"):
        unpack(tmp_path / "missing.tar.gz")
    arc = pack(config, model, tmp_path / "ok.tar")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "precious.txt").write_text("keep me")
    with pytest.raises(ArchiveError, match="refusing to replace"):
        unpack(arc, busy)
    assert (busy / "precious.txt").read_text() == "keep me"
