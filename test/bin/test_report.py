"""``python -m msrs.bin.report`` on an exp tree made by the real scorer CLI and ESPnet's Reporter."""

import subprocess
import sys

import torch
import yaml
from espnet2.train.reporter import Reporter


def test_cli_report_over_scored_decodes(tmp_path):
    run = tmp_path / "exp" / "vsr_dense"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(
        yaml.safe_dump({"encoder": "transformer", "max_epoch": 2})
    )
    r = Reporter()
    for epoch in (1, 2):
        r.set_epoch(epoch)
        with r.observe("train") as sub:
            sub.register({"loss": 5.0 / epoch, "acc": 0.3 * epoch})
            sub.next()
        with r.observe("valid") as sub:
            sub.register({"loss": 6.0 / epoch, "acc": 0.25 * epoch})
            sub.next()
    torch.save(
        {"model": {}, "reporter": r.state_dict(), "optimizers": []},
        run / "checkpoint.pth",
    )
    (tmp_path / "ref").write_text("u1 HELLO WORLD\nu2 GOOD MORNING\n")
    for tag, hyp in (
        ("", "u1 HELLO WORLD\nu2 GOOD MORNING\n"),
        ("_snr0", "u1 HELLO\nu2 GOOD MORNING\n"),
    ):
        (tmp_path / f"hyp{tag}").write_text(hyp)
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "msrs.bin.score",
                "--ref",
                "ref",
                "--hyp",
                f"hyp{tag}",
                "--out",
                f"exp/vsr_dense/decode_b5_test{tag}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "msrs.bin.report",
            "--exp_dir",
            "exp",
            "--out",
            "RESULTS.md",
            "--plots_dir",
            "exp/plots",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    md = (tmp_path / "RESULTS.md").read_text()
    # WER [95% bootstrap interval]: at 0 dB u1 has 1 error in 2 words, u2 none,
    # so resamples give 0, 25 or 50 %
    assert "| `vsr_dense` | b5_test | 0.00 [0.00, 0.00] | 25.00 [0.00, 50.00] |" in md
    assert "![loss and accuracy](exp/plots/vsr_dense/curves.png)" in md
    assert "![WER vs SNR](exp/plots/wer_vs_snr.png)" in md
    assert (
        tmp_path / "exp" / "plots" / "vsr_dense" / "curves.png"
    ).stat().st_size > 10_000
    assert "command: `" in md and "msrs.bin.report --exp_dir exp" in md


def test_cli_missing_exp_dir(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "msrs.bin.report", "--exp_dir", "nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 1 and "--exp_dir nope: no such directory" in p.stderr
    assert not (tmp_path / "RESULTS.md").exists()
