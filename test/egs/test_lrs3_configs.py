"""Every egs/lrs3 training config parses with the task's parser and keeps fp32."""

from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "egs" / "lrs3" / "conf"


@pytest.mark.parametrize("path", sorted(CONF.glob("train_*.yaml")), ids=lambda p: p.stem)
def test_config_parses_with_precision_options_documented(path):
    from msrs.tasks.avsr import AVSRTask

    args = AVSRTask.get_parser().parse_args(["--config", str(path), "--output_dir", "unused"])
    # fp32 is the reference; bf16 autocast and TF32 are documented switches
    assert args.use_amp is False and args.use_tf32 is False
    text = path.read_text()
    assert "use_amp: false" in text and "bf16" in text and "use_tf32: false" in text
