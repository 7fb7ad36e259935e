"""Tests of the msrs.bin.avsr_train entry point."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msrs.bin import avsr_train
from msrs.tasks.avsr_testing import tiny_config, train_command, write_tiny_corpus


def test_print_config_from_the_command_line_shows_our_registries():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "msrs.bin.avsr_train",
            "--print_config",
            "--modality",
            "avsr",
            "--encoder",
            "e_branchformer",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    conf = yaml.safe_load(out.stdout)
    assert conf["modality"] == "avsr"
    assert conf["encoder"] == "e_branchformer"
    assert "cgmlp_linear_units" in conf["encoder_conf"]  # E-Branchformer's defaults
    for key in (
        "video_frontend",
        "audio_frontend",
        "fusion",
        "model",
        "preprocessor",
        "sparsity",
    ):
        assert key in conf and f"{key}_conf" in conf


def test_dry_run_writes_the_config(tmp_path):
    corpus = write_tiny_corpus(tmp_path, sets=dict(train=2, valid=1))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            tiny_config(
                "vsr",
                encoder="e_branchformer",
                encoder_conf=dict(
                    output_size=32,
                    attention_heads=2,
                    num_blocks=1,
                    input_layer="linear",
                    cgmlp_linear_units=32,
                    cgmlp_conv_kernel=7,
                ),
            )
        )
    )
    avsr_train.main(
        train_command(corpus, cfg, tmp_path / "exp", "vsr", extra=["--dry_run", "true"])
    )
    written = yaml.safe_load((tmp_path / "exp" / "config.yaml").read_text())
    assert written["encoder"] == "e_branchformer" and written["modality"] == "vsr"
    assert written["token_list"][0] == "<blank>"


def test_modality_data_mismatch_fails_before_building(tmp_path):
    corpus = write_tiny_corpus(tmp_path, sets=dict(train=2, valid=1))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config("avsr")))
    cmd = train_command(corpus, cfg, tmp_path / "exp", "vsr")  # video + text only
    with pytest.raises(
        ValueError, match=r"--modality avsr needs data name\(s\) \['speech'\]"
    ):
        avsr_train.main(cmd)
    assert not (tmp_path / "exp").exists()


@pytest.mark.slow
def test_torchrun_ddp_on_cpu_counts_skipped_utterances_over_ranks(tmp_path):
    import torch

    from msrs.tasks.avsr_testing import write_shape_files

    corpus = write_tiny_corpus(tmp_path, sets=dict(train=12, valid=4))
    bad_uid, bad_path = (corpus["train"] / "video.scp").read_text().split()[:2]
    Path(bad_path).write_bytes(b"corrupt")
    for name in ("train", "valid"):
        write_shape_files(corpus[name], tmp_path / "stats" / name)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config("vsr")))
    exp = tmp_path / "exp"
    cmd = train_command(
        corpus,
        cfg,
        exp,
        "vsr",
        shape_dir=tmp_path / "stats",
        extra=["--dist_backend", "gloo"],
    )
    with socket.socket() as sock:  # a free port for the gloo rendezvous
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            port,
            "-m",
            "msrs.bin.avsr_train",
        ]
        + cmd,
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "[vm:0/2]" in out.stderr or ":0/2]" in out.stderr  # ESPnet saw two ranks
    stats = torch.load(exp / "checkpoint.pth", weights_only=False)["reporter"]["stats"]
    assert (
        stats[1]["train"]["skipped_utts"] == 1
        and stats[2]["train"]["skipped_utts"] == 1
    )
    listed = "".join(p.read_text() for p in exp.glob("skipped_utts*.txt"))
    assert listed.count(f" train {bad_uid} MediaError") == 2
    assert (exp / "valid.acc.ave.pth").exists()
