"""Per-epoch console progress of running trainings (msrs.report.progress)."""

import io

from msrs.report.progress import RunFollower, follow

HEAD = "[vm] 2026-12-04 16:05:40,000 (trainer:300) INFO: building the model\n"


def _epoch(n, stamp, loss, acc):
    return (
        f"[vm] 2026-12-04 {stamp},000 (trainer:394) INFO: {n}epoch results: [train] "
        f"loss_ctc=1.0, acc=0.5, loss={loss}, time=9.81 seconds, total_count=63, "
        f"[valid] loss={loss + 1}, acc={acc}, time=0.38 seconds, total_count=8\n"
    )


def test_one_line_per_new_epoch_with_the_time_left(tmp_path):
    run = tmp_path / "vsr_x"
    run.mkdir()
    (run / "config.yaml").write_text("encoder: conformer\nmax_epoch: 10\n")
    log = run / "train.log"
    log.write_text(HEAD + _epoch(1, "16:05:50", 58.1, 0.297))
    f = RunFollower(run)
    assert f.poll() == [
        "[vsr_x] epoch 1/10  loss 58.10  valid acc 0.297  10.0 s/epoch  about 1 min 30 s left"
    ]
    assert f.poll() == []  # nothing new
    with log.open("a") as fh:
        fh.write(_epoch(2, "16:06:10", 19.1, 0.314))
        fh.write("[vm] 2026-12-04 16:06:11,000 half a li")  # no newline yet: not read
    # epochs took 10 s and 20 s: 15 s each for the 8 left
    assert f.poll() == [
        "[vsr_x] epoch 2/10  loss 19.10  valid acc 0.314  15.0 s/epoch  about 2 min 00 s left"
    ]


def test_follow_stops_when_every_run_is_done(tmp_path):
    run = tmp_path / "avsr_y"
    run.mkdir()
    (run / "train.log").write_text(HEAD + _epoch(1, "16:05:45", 5.0, 0.5))
    (run / ".done.stage7").touch()
    out = io.StringIO()
    assert follow([run], interval=0.01, out=out) == 0
    assert out.getvalue() == "[avsr_y] epoch 1  loss 5.00  valid acc 0.500  5.0 s/epoch\n"
