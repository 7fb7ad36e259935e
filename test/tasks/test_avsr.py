"""Tests of msrs.tasks.avsr.AVSRTask: registries, configuration checks, docs configs."""

import io
import re
from pathlib import Path

import pytest
import torch
import yaml

from msrs.nets.avsr_model import ESPnetAVSRModel
from msrs.tasks.avsr import AVSRTask, check_conf
from msrs.tasks.avsr_testing import TOKENS, parse_config, random_batch, tiny_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"
BPE_TOKENS = ["<blank>", "<unk>"] + [f"t{i}" for i in range(4997)] + ["<sos/eos>"]


def _doc_yaml_blocks():
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    out = []
    for block in blocks:
        m = re.search(r"# example: (\w+)", block)
        out.append((m.group(1) if m else "fragment", yaml.safe_load(block)))
    return out


def test_print_config_lists_our_registries_and_defaults():
    buf = io.StringIO()
    AVSRTask.print_config(file=buf)
    conf = yaml.safe_load(buf.getvalue())
    assert conf["modality"] == "vsr"
    assert conf["video_frontend"] == "resnet" and conf["audio_frontend"] == "resnet1d"
    assert conf["encoder"] == "conformer" and conf["fusion"] == "mlp"
    assert conf["model"] == "avsr" and conf["preprocessor"] == "avsr"
    assert conf["sparsity"] is None
    assert (
        conf["model_conf"]["ctc_weight"] == 0.1
        and conf["model_conf"]["lsm_weight"] == 0.1
    )
    assert conf["video_frontend_conf"]["mean"] == 0.421
    assert conf["preprocessor_conf"]["snr_choices"] == [
        -5.0,
        0.0,
        5.0,
        10.0,
        15.0,
        20.0,
        None,
    ]
    assert conf["fusion_conf"]["hidden_size"] == 8192


def test_registries_merge_espnet_classes_with_ours():
    parser = AVSRTask.get_parser()
    choices = {a.dest: a.choices for a in parser._actions if a.choices}
    assert {"conformer", "e_branchformer", "branchformer", "transformer"} <= set(
        choices["encoder"]
    )
    assert {"resnet1d", "default"} <= set(choices["audio_frontend"])
    assert {"mlp", "concat"} <= set(choices["fusion"])
    assert "resnet" in choices["video_frontend"]
    assert "sparsity" in choices


@pytest.mark.parametrize(
    "name,conf", _doc_yaml_blocks(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_docs_example_configs_build(name, conf):
    if name == "fragment":
        conf = dict(tiny_config("vsr"), **conf)
    tokens = TOKENS if name.startswith("tiny") or name == "fragment" else BPE_TOKENS
    args = parse_config(conf, tokens)
    if name.startswith("tiny"):
        model = AVSRTask.build_model(args)
        batch = random_batch(conf["modality"], lengths=(14, 11))
        loss, _, _ = model(**batch)
        loss.backward()
        assert torch.isfinite(loss)
        return
    with torch.device("meta"):
        model = AVSRTask.build_model(args)
    assert isinstance(model, ESPnetAVSRModel)
    n = sum(p.numel() for p in model.parameters())
    expected = {"paper_vsr": 250.3e6, "paper_asr": 242.9e6, "paper_avsr": 443.9e6}
    if name in expected:
        assert n == pytest.approx(expected[name], rel=2e-3)


def _args(modality="vsr", data=("video", "text"), **conf):
    args = parse_config(tiny_config(modality, **conf))
    paths = {
        "video": "v.scp,video,video",
        "speech": "w.scp,speech,sound",
        "text": "t,text,text",
    }
    args.train_data_path_and_name_and_type = [tuple(paths[d].split(",")) for d in data]
    return args


def test_modality_and_data_names_must_match():
    AVSRTask.check_modality_and_data(_args("avsr", ("video", "speech", "text")))
    with pytest.raises(
        ValueError, match=r"--modality avsr needs data name\(s\) \['speech'\]"
    ):
        AVSRTask.check_modality_and_data(_args("avsr", ("video", "text")))
    with pytest.raises(
        ValueError, match=r"gives data name\(s\) \['speech'\] that --modality vsr"
    ):
        AVSRTask.check_modality_and_data(_args("vsr", ("video", "speech", "text")))
    args = _args("vsr")
    args.train_data_path_and_name_and_type = [("v.scp", "video", "npy")]
    with pytest.raises(ValueError, match="needs type 'video'"):
        AVSRTask.check_modality_and_data(args)
    with pytest.raises(ValueError, match="--modality must be one of"):
        AVSRTask.check_modality_and_data(_args(modality="lips"))
    with pytest.raises(ValueError, match="--noise_scp is an ESPnet ASR option"):
        AVSRTask.check_modality_and_data(_args(noise_scp="noise.scp"))


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            dict(encoder_conf=dict(num_blokcs=2)),
            r"--encoder_conf: ConformerEncoder has no option\(s\) \['num_blokcs'\]",
        ),
        (
            dict(model_conf=dict(ctc_wieght=0.3)),
            r"--model_conf: ESPnetAVSRModel has no option",
        ),
        (
            dict(model_conf=dict(modality="asr")),
            r"--model_conf: \['modality'\] are set by the task",
        ),
        (
            dict(video_frontend_conf=dict(chanels=[1])),
            "--video_frontend_conf: VideoResNetFrontend",
        ),
        (dict(encoder="conformr"), "--encoder must be one of"),
        (dict(video_frontend=None), "--modality vsr needs --video_frontend"),
        (dict(normalize="utterance_mvn"), "--normalize applies to audio features"),
        (dict(model_conf=dict(fusion_stage="middle")), "fusion_stage must be one of"),
        (dict(ctc_conf=dict(droput_rate=0.1)), r"--ctc_conf: CTC has no option"),
    ],
)
def test_configuration_errors_name_the_option(overrides, message):
    with pytest.raises(ValueError, match=message):
        AVSRTask.build_model(parse_config(tiny_config("vsr", **overrides)))


def test_check_conf_lists_valid_keys():
    with pytest.raises(ValueError, match=r"valid options: \[.*'output_size'"):
        check_conf(
            "fusion",
            __import__("msrs.nets.fusion", fromlist=["x"]).MLPFusion,
            {"outputsize": 3},
            ("input_sizes",),
        )


def test_share_encoder_requires_equal_frontend_sizes():
    conf = tiny_config(
        "avsr",
        model_conf=dict(share_encoder=True),
        audio_frontend_conf=dict(stem_channels=4, channels=[4, 8, 8, 8]),
    )
    with pytest.raises(
        ValueError, match="equal frontend sizes, got video 16 and audio 8"
    ):
        AVSRTask.build_model(parse_config(conf))


def test_unknown_top_level_config_key_is_rejected(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(dict(tiny_config("vsr"), modalty="vsr")))
    with pytest.raises(SystemExit):
        AVSRTask.get_parser().parse_args(["--config", str(cfg)])
    assert "unrecognized arguments: modalty" in capsys.readouterr().err
