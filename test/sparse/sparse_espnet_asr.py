"""Tiny audio-only ESPnet training runs through ``SparseASRTask`` (test helper).

Writes a random corpus (16 kHz noise wavs, random letter transcripts, a char
token list, shape files) and runs ``SparseASRTask.main`` on it with a
2-block conformer of width 16, so that the real ESPnet trainer, reporter,
checkpointing, resume and n-best averaging are exercised in seconds.
"""

import string
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import soundfile
import yaml

LETTERS = string.ascii_uppercase[:6]

ENCODER_CONF = dict(
    output_size=16, attention_heads=2, linear_units=32, num_blocks=2,
    cnn_module_kernel=3, input_layer="conv2d", dropout_rate=0.0,
    positional_dropout_rate=0.0, attention_dropout_rate=0.0,
)
DECODER_CONF = dict(
    attention_heads=2, linear_units=32, num_blocks=1, dropout_rate=0.0,
    positional_dropout_rate=0.0, self_attention_dropout_rate=0.0, src_attention_dropout_rate=0.0,
)


def write_corpus(root: Path, n_utts: int = 8, seed: int = 0) -> Path:
    """Write ``root/data`` (wav.scp, text, speech_shape) and ``root/tokens.txt``."""
    rng = np.random.default_rng(seed)
    data = root / "data"
    (data / "wav").mkdir(parents=True, exist_ok=True)
    wav_lines, text_lines, shape_lines = [], [], []
    for i in range(n_utts):
        uid = f"utt{i:03d}"
        n = int(rng.integers(4000, 6400))
        x = (rng.standard_normal(n) * 0.1).astype(np.float32)
        path = data / "wav" / f"{uid}.wav"
        soundfile.write(str(path), x, 16000, subtype="PCM_16")
        words = "".join(rng.choice(list(LETTERS), size=int(rng.integers(2, 5))))
        wav_lines.append(f"{uid} {path}")
        text_lines.append(f"{uid} {words}")
        shape_lines.append(f"{uid} {n}")
    (data / "wav.scp").write_text("\n".join(wav_lines) + "\n")
    (data / "text").write_text("\n".join(text_lines) + "\n")
    (data / "speech_shape").write_text("\n".join(shape_lines) + "\n")
    tokens = ["<blank>", "<unk>"] + list(LETTERS) + ["<sos/eos>"]
    (root / "tokens.txt").write_text("\n".join(tokens) + "\n")
    return data


def train_cmd(
    root: Path,
    out: Path,
    sparsity: Optional[str] = None,
    sparsity_conf: Optional[dict] = None,
    max_epoch: int = 3,
    iters: int = 4,
    extra: Sequence[str] = (),
) -> List[str]:
    """Command line for ``SparseASRTask.main``."""
    data = root / "data"
    cmd = [
        "--output_dir", str(out),
        "--token_list", str(root / "tokens.txt"), "--token_type", "char",
        "--train_data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{data}/text,text,text",
        "--valid_data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{data}/text,text,text",
        "--train_shape_file", f"{data}/speech_shape",
        "--valid_shape_file", f"{data}/speech_shape",
        "--batch_type", "unsorted", "--batch_size", "2",
        "--num_iters_per_epoch", str(iters), "--max_epoch", str(max_epoch),
        "--frontend", "default",
        "--frontend_conf", yaml.safe_dump(dict(n_fft=128, hop_length=64, n_mels=8)),
        "--encoder", "conformer", "--encoder_conf", yaml.safe_dump(ENCODER_CONF),
        "--decoder", "transformer", "--decoder_conf", yaml.safe_dump(DECODER_CONF),
        "--model_conf", yaml.safe_dump(dict(ctc_weight=0.3)),
        "--optim", "adamw", "--optim_conf", yaml.safe_dump(dict(lr=0.005, weight_decay=0.01)),
        "--ngpu", "0", "--num_workers", "0", "--seed", "0",
        "--use_matplotlib", "false", "--use_tensorboard", "false",
        "--num_att_plot", "0", "--keep_nbest_models", "2", "--resume", "true",
    ]
    if sparsity is not None:
        cmd += ["--sparsity", sparsity]
        if sparsity_conf is not None:
            cmd += ["--sparsity_conf", yaml.safe_dump(sparsity_conf)]
    return cmd + list(extra)
