"""Stage-6 shape files from ``utt2num_frames``, without reading the media.

ESPnet's ``--collect_stats true`` loads and preprocesses every utterance once
to write ``<output_dir>/{train,valid}/<name>_shape`` for the batch samplers;
for LRS3 that decodes ~39 M video frames.  Everything the shapes need is
already in the dump directories written by stage 2/3:

- ``video_shape``: ``T,C,C`` with ``T`` from ``utt2num_frames`` and ``C`` the
  preprocessor's ``crop_size`` (the centre crop ``--collect_stats`` sees);
- ``speech_shape``: ``640 * T`` samples (stage 2 writes exactly ``640 * T``
  and the preprocessor trims or pads audio to the video length);
- ``text_shape``: the number of token ids of the transcript, through the
  task's own preprocessor (cleaner, tokenizer, token list).

Utterances the training preprocessor would reject without looking at the
media are left out as ``--collect_stats`` leaves them out: an empty token
sequence, or fewer frames than CTC needs for the tokens
(:func:`msrs.tasks.avsr_preprocessor.ctc_min_frames`); they are listed with
the reason in ``<output_dir>/<phase>/skipped_utts.txt``.  Media that are
unreadable are found at training time (and skipped there, see
:mod:`msrs.tasks.avsr_data`).  Keys come from the first
``--<phase>_shape_file`` (avsr.sh passes the ``text`` file), in its order.
"""

import argparse
import logging
from pathlib import Path
from typing import Dict, List

from espnet2.fileio.read_text import read_2columns_text

from msrs.tasks.avsr import AVSRTask
from msrs.tasks.avsr_preprocessor import ctc_min_frames

logger = logging.getLogger(__name__)

SAMPLES_PER_FRAME = 640


def _frames_of(scp: str) -> Dict[str, int]:
    f = Path(scp).parent / "utt2num_frames"
    if not f.is_file():
        raise FileNotFoundError(
            f"{f}: missing; shapes from frame counts need a stage-2/3 dump "
            "(or run --collect_stats true)"
        )
    try:
        return {k: int(v) for k, v in read_2columns_text(f).items()}
    except ValueError as e:
        raise ValueError(f"{f}: a frame count is not an integer ({e})") from None


def write_shapes(args: argparse.Namespace, phase: str) -> Dict[str, int]:
    """Write ``<args.output_dir>/<phase>/*_shape`` for ``phase`` (train|valid).

    Returns:
        counts: ``written`` and ``skipped`` utterances.

    Raises:
        FileNotFoundError / ValueError: a missing ``utt2num_frames`` or an
            utterance absent from it (the message names the file).
    """
    triples = getattr(args, f"{phase}_data_path_and_name_and_type")
    shape_files = getattr(args, f"{phase}_shape_file")
    if not triples or not shape_files:
        raise ValueError(f"--{phase}_data_path_and_name_and_type and "
                         f"--{phase}_shape_file are required")
    pre = AVSRTask.build_preprocess_fn(args, train=False)
    crop = int((args.preprocessor_conf or {}).get("crop_size", 88))
    keys = list(read_2columns_text(shape_files[0]))
    frames: Dict[str, int] = {}
    text_name = None
    streams: List[str] = []
    texts: Dict[str, str] = {}
    for path, name, _type in triples:
        if name == "text":
            text_name = name
            texts = read_2columns_text(path)
        elif name in ("video", "speech"):
            streams.append(name)
            got = _frames_of(path)
            lost = [k for k in keys if k not in got]
            if lost:
                raise ValueError(
                    f"{Path(path).parent / 'utt2num_frames'}: no frame count for "
                    f"{len(lost)} utterance(s), e.g. {lost[0]}"
                )
            frames = got
    out = Path(args.output_dir) / phase
    out.mkdir(parents=True, exist_ok=True)
    rows: Dict[str, List[str]] = {n: [] for n in streams + ([text_name] if text_name else [])}
    skipped: Dict[str, str] = {}
    for k in keys:
        t = frames[k]
        if text_name is not None:
            if k not in texts:
                raise ValueError(f"{shape_files[0]}: {k} is not in the text file")
            ids = pre._text_process({text_name: texts[k]})[text_name] if pre else []
            if len(ids) == 0:
                skipped[k] = "empty transcript"
                continue
            need = ctc_min_frames(ids)
            if pre is not None and pre.check_ctc_length and t < need:
                skipped[k] = f"{t} frames are too few for CTC on {len(ids)} tokens"
                continue
            rows[text_name].append(f"{k} {len(ids)}")
        if "video" in rows:
            rows["video"].append(f"{k} {t},{crop},{crop}")
        if "speech" in rows:
            rows["speech"].append(f"{k} {t * SAMPLES_PER_FRAME}")
    for name, lines in rows.items():
        (out / f"{name}_shape").write_text("".join(x + "\n" for x in lines))
    (out / "skipped_utts.txt").write_text("".join(f"{k} {r}\n" for k, r in skipped.items()))
    if skipped:
        logger.warning("%s: %d utterance(s) left out (%s)", phase, len(skipped),
                       out / "skipped_utts.txt")
    return {"written": len(keys) - len(skipped), "skipped": len(skipped)}
