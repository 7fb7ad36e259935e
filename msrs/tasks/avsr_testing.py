"""Tiny generated AV corpora and model configs for tests and benchmarks.

Not a data-preparation tool (see ``msrs.data`` for the synthetic LRS3-like
corpus): it writes a few seconds of learnable toy data in the dump layout of
docs/architecture.md, fast enough for unit tests on two CPU cores.

Each character of a transcript is shown for a few frames as a bright square
at a character-specific position of a noisy 32x32 frame and sounds as a
character-specific tone in the 640 audio samples of each of those frames, so
a tiny model can learn to read it.
"""

import copy
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import soundfile

ALPHABET = "ABCDE"
TOKENS = ["<blank>", "<unk>", "<space>"] + list(ALPHABET) + ["<sos/eos>"]
SAMPLES_PER_FRAME = 640
SAMPLE_RATE = 16000


def _render(text: str, rng: np.random.Generator, size: int, frames_per_char: int):
    frames, audio = [], []
    t = np.arange(SAMPLES_PER_FRAME) / SAMPLE_RATE
    for ch in text:
        for _ in range(frames_per_char + int(rng.integers(0, 2))):
            img = rng.integers(60, 110, size=(size, size)).astype(np.float32)
            wav = 0.01 * rng.standard_normal(SAMPLES_PER_FRAME)
            if ch != " ":
                k = ALPHABET.index(ch)
                r, c = divmod(k, 3)
                top, left = 4 + 10 * r, 4 + 9 * c
                img[top : top + 8, left : left + 8] = 230.0
                wav = wav + 0.3 * np.sin(2 * np.pi * (300 + 180 * k) * t)
            frames.append(np.clip(img, 0, 255).astype(np.uint8))
            audio.append(wav.astype(np.float32))
    return np.stack(frames), np.concatenate(audio)


def write_tiny_corpus(
    root: Path,
    sets: Dict[str, int] = None,
    size: int = 32,
    frames_per_char: int = 4,
    seed: int = 0,
    video_format: str = "npy",
) -> Dict[str, Path]:
    """Write ``<root>/dump/<set>/`` (video.scp, wav.scp, text, utt2num_frames), tokens.

    Args:
        root: output directory.
        sets: ``{set name: number of utterances}`` (default train 16, valid 4).
        size: frame side in pixels.
        frames_per_char: frames per character (plus 0-1 at random).
        seed: random seed.
        video_format: ``npy`` (uint8 arrays) or ``mp4`` (gray H.264 via PyAV).

    Returns:
        ``{set name: dump dir, "token_list": path, "noise": babble-like wav}``.
    """
    root = Path(root)
    sets = dict(train=16, valid=4) if sets is None else sets
    rng = np.random.default_rng(seed)
    out: Dict[str, Path] = {}
    for name, n in sets.items():
        d = root / "dump" / name
        (d / "data").mkdir(parents=True, exist_ok=True)
        rows = {"video.scp": [], "wav.scp": [], "text": [], "utt2num_frames": []}
        for i in range(n):
            words = [
                "".join(rng.choice(list(ALPHABET), size=int(rng.integers(1, 4))))
                for _ in range(int(rng.integers(1, 3)))
            ]
            text = " ".join(words)
            video, audio = _render(text, rng, size, frames_per_char)
            uid = f"spk{i % 3}_{name}_{i:03d}"
            if video_format == "npy":
                vpath = d / "data" / f"{uid}.npy"
                np.save(vpath, video)
            else:
                from msrs.data.video_io import write_video

                vpath = d / "data" / f"{uid}.mp4"
                write_video(vpath, video, crf=0)
            wpath = d / "data" / f"{uid}.wav"
            soundfile.write(wpath, audio, SAMPLE_RATE, subtype="PCM_16")
            rows["video.scp"].append(f"{uid} {vpath}")
            rows["wav.scp"].append(f"{uid} {wpath}")
            rows["text"].append(f"{uid} {text}")
            rows["utt2num_frames"].append(f"{uid} {len(video)}")
        for fname, lines in rows.items():
            (d / fname).write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
        out[name] = d
    tokens = root / "tokens.txt"
    tokens.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    out["token_list"] = tokens
    noise = root / "babble.wav"
    soundfile.write(
        noise,
        (0.1 * rng.standard_normal(SAMPLE_RATE * 2)).astype(np.float32),
        SAMPLE_RATE,
        subtype="PCM_16",
    )
    out["noise"] = noise
    return out


def write_shape_files(dump_dir: Path, out_dir: Path, size: int = 32) -> Dict[str, Path]:
    """Write ESPnet shape files ``video_shape``/``speech_shape`` from utt2num_frames.

    A stand-in for ``--collect_stats`` in tests that do not exercise it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [
        line.split()
        for line in (Path(dump_dir) / "utt2num_frames").read_text().splitlines()
    ]
    video = out_dir / "video_shape"
    video.write_text("".join(f"{u} {t},{size},{size}\n" for u, t in rows))
    speech = out_dir / "speech_shape"
    speech.write_text("".join(f"{u} {int(t) * SAMPLES_PER_FRAME}\n" for u, t in rows))
    return {"video": video, "speech": speech}


TINY_RESNET = dict(stem_channels=4, channels=[4, 8, 8, 16], blocks=[1, 1, 1, 1])

TINY_ENCODER = dict(
    output_size=32,
    attention_heads=2,
    linear_units=64,
    num_blocks=1,
    dropout_rate=0.0,
    positional_dropout_rate=0.0,
    input_layer="linear",
    macaron_style=True,
    rel_pos_type="latest",
    pos_enc_layer_type="rel_pos",
    selfattention_layer_type="rel_selfattn",
    cnn_module_kernel=7,
)

TINY_DECODER = dict(
    attention_heads=2,
    linear_units=64,
    num_blocks=1,
    dropout_rate=0.0,
    positional_dropout_rate=0.0,
)


def tiny_config(modality: str = "vsr", **overrides: Any) -> Dict[str, Any]:
    """Tiny training config (a YAML dict) for ``modality``; ``overrides`` win."""
    conf: Dict[str, Any] = dict(
        modality=modality,
        encoder="conformer",
        encoder_conf=copy.deepcopy(TINY_ENCODER),
        decoder="transformer",
        decoder_conf=copy.deepcopy(TINY_DECODER),
        model_conf=dict(ctc_weight=0.3, lsm_weight=0.1),
        preprocessor_conf=dict(
            crop_size=28, video_time_mask_window=3, audio_time_mask_window=800
        ),
        optim="adam",
        optim_conf=dict(lr=0.003),
        batch_type="sorted",
        batch_size=4,
        max_epoch=2,
        num_workers=0,
        num_att_plot=0,
        keep_nbest_models=2,
        best_model_criterion=[["valid", "acc", "max"]],
        log_interval=2,
        token_type="char",
        use_matplotlib=False,
    )
    if modality in ("vsr", "avsr"):
        conf["video_frontend"] = "resnet"
        conf["video_frontend_conf"] = copy.deepcopy(TINY_RESNET)
    if modality in ("asr", "avsr"):
        conf["audio_frontend"] = "resnet1d"
        conf["audio_frontend_conf"] = copy.deepcopy(TINY_RESNET)
    if modality == "avsr":
        conf["fusion"] = "mlp"
        conf["fusion_conf"] = dict(output_size=32, hidden_size=32)
    conf.update(overrides)
    return conf


def data_args(
    dump: Path, modality: str, prefix: str = "train", text: bool = True
) -> List[str]:
    """``--<prefix>_data_path_and_name_and_type`` options for a tiny dump dir."""
    args: List[str] = []
    opt = f"--{prefix}_data_path_and_name_and_type"
    if modality in ("vsr", "avsr"):
        args += [opt, f"{dump}/video.scp,video,video"]
    if modality in ("asr", "avsr"):
        args += [opt, f"{dump}/wav.scp,speech,sound"]
    if text:
        args += [opt, f"{dump}/text,text,text"]
    return args


def train_command(
    corpus: Dict[str, Path],
    config: Path,
    output_dir: Path,
    modality: str,
    shape_dir: Optional[Path] = None,
    extra: Sequence[str] = (),
) -> List[str]:
    """Arguments of ``msrs.bin.avsr_train`` for a tiny corpus."""
    cmd = [
        "--config",
        str(config),
        "--token_list",
        str(corpus["token_list"]),
        "--output_dir",
        str(output_dir),
        "--ngpu",
        "0",
        "--seed",
        "0",
    ]
    cmd += data_args(corpus["train"], modality, "train")
    cmd += data_args(corpus["valid"], modality, "valid")
    if shape_dir is not None:
        key = "video" if modality in ("vsr", "avsr") else "speech"
        for phase in ("train", "valid"):
            cmd += [f"--{phase}_shape_file", f"{shape_dir}/{phase}/{key}_shape"]
    return cmd + list(extra)


def parse_config(
    conf: Dict[str, Any], token_list: Sequence[str] = TOKENS, extra: Sequence[str] = ()
):
    """``AVSRTask`` arguments from a config dict, as ``--config`` would give them."""
    from msrs.tasks.avsr import AVSRTask

    parser = AVSRTask.get_parser()
    parser.set_defaults(**copy.deepcopy(conf))
    args = parser.parse_args(list(extra))
    args.token_list = list(token_list)
    return args


def random_batch(
    modality: str, lengths: Sequence[int] = (12, 9), size: int = 28, seed: int = 0
):
    """A collated random batch (video/speech/text and lengths) for ``modality``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    b = len(lengths)
    lens = torch.tensor(list(lengths))
    batch: Dict[str, Any] = {}
    if modality in ("vsr", "avsr"):
        batch["video"] = torch.rand(b, max(lengths), size, size, generator=g) * 255
        batch["video_lengths"] = lens.clone()
    if modality in ("asr", "avsr"):
        batch["speech"] = (
            torch.randn(b, max(lengths) * SAMPLES_PER_FRAME, generator=g) * 0.1
        )
        batch["speech_lengths"] = lens * SAMPLES_PER_FRAME
    text_lens = torch.clamp(lens // 3, min=1)
    text = torch.randint(3, len(TOKENS) - 1, (b, int(text_lens.max())), generator=g)
    for i, n in enumerate(text_lens.tolist()):
        text[i, n:] = -1
    batch["text"], batch["text_lengths"] = text, text_lens
    batch["utt_id"] = [f"utt{i}" for i in range(b)]
    return batch
