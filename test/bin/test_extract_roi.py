"""msrs.bin.extract_roi: shards under utils/run.pl, merge, local pool, errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from msrs.bin.extract_roi import main
from msrs.data import video_io
from msrs.data.datadir import DataDir, read_kv

REPO = Path(__file__).resolve().parents[2]


def _data(root: Path) -> Path:
    from msrs.data.synth.face import FaceRenderer, SpeakerLook
    from msrs.data.synth.visemes import VISEMES

    d = DataDir()
    for k, shape in enumerate(["AA", "OU", "EE"]):
        params = np.tile(np.asarray(VISEMES[shape], np.float32), (15, 1))
        frames, _ = FaceRenderer(SpeakerLook(), 160).render(
            params, np.random.default_rng(k)
        )
        utt = f"spk{k}xxxxxxxx_trainval_5000{k}"
        mp4 = root / "media" / f"{utt}.mp4"
        video_io.encode_video(
            mp4, frames, 25, np.zeros(15 * 640, np.float32), preset="ultrafast"
        )
        d.text[utt], d.utt2spk[utt] = "A B", f"spk{k}xxxxxxxx"
        d.video[utt] = d.wav[utt] = str(mp4)
    d.save(root / "data")
    return root / "data"


def test_run_pl_shards_then_merge_without_num_jobs(tmp_path):
    data = _data(tmp_path)
    out = tmp_path / "dump"
    cmd = [
        str(REPO / "utils" / "run.pl"),
        "JOB=1:2",
        str(out / "log" / "extract_roi.JOB.log"),
        sys.executable,
        "-m",
        "msrs.bin.extract_roi",
        "--data",
        str(data),
        "--out",
        str(out),
        "--job",
        "JOB",
        "--num_jobs",
        "2",
        "--detect_every",
        "2",
        "--progress",
        "false",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, (
        res.stdout
        + res.stderr
        + "".join(p.read_text() for p in sorted((out / "log").glob("*.log")))
    )
    assert main(["--data", str(data), "--out", str(out), "--merge"]) == 0
    scp = read_kv(out / "video.scp")
    assert len(scp) == 3 and all(np.load(p).shape == (15, 96, 96) for p in scp.values())
    assert read_kv(out / "failures.txt") == {}


def test_local_pool_and_errors(tmp_path, caplog):
    data = _data(tmp_path)
    assert (
        main(
            [
                "--data",
                str(data),
                "--out",
                str(tmp_path / "o"),
                "--detector",
                "none",
                "--roi_format",
                "mp4",
                "--progress",
                "false",
            ]
        )
        == 0
    )
    assert all(
        p.endswith(".mp4") for p in read_kv(tmp_path / "o" / "video.scp").values()
    )
    # --merge alone finds the number of jobs and the ROI format of the jobs
    assert main(["--data", str(data), "--out", str(tmp_path / "o"), "--merge"]) == 0
    assert all(
        p.endswith(".mp4") for p in read_kv(tmp_path / "o" / "video.scp").values()
    )
    assert main(["--data", str(data), "--out", str(tmp_path / "p"), "--merge"]) == 1
    assert "no complete set of finished jobs" in caplog.text
    assert (
        main(
            [
                "--data",
                str(data),
                "--out",
                str(tmp_path / "p"),
                "--landmarks_dir",
                str(tmp_path / "nope"),
            ]
        )
        == 1
    )
    assert "--landmarks_dir" in caplog.text
    assert (
        main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "p")]) == 1
    )
    assert "data directory not found" in caplog.text
    assert (
        main(
            [
                "--data",
                str(data),
                "--out",
                str(tmp_path / "p"),
                "--job",
                "3",
                "--num_jobs",
                "2",
            ]
        )
        == 1
    )
    assert "--job must be in 1..2" in caplog.text
