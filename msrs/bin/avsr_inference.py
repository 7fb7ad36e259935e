"""Decode a data directory with a trained VSR / ASR / AVSR model.

ESPnet's beam search (``BatchBeamSearch`` when every scorer is batched) with
the attention decoder, the CTC prefix scorer, a length bonus and an optional
ESPnet language model (shallow fusion).  Output in ESPnet's layout::

    <output_dir>/1best_recog/{text,token,token_int,score}
    <output_dir>/<n>best_recog/...          (--nbest n)
    <output_dir>/failed_utts.txt            (utterances that could not be read;
                                             they get an empty hypothesis)

The model is loaded with ``AVSRTask.build_model_from_file``, so a sparse
model decodes with the hard masks restored from its checkpoint; the
default model file is ``valid.acc.ave.pth`` next to ``--asr_train_config``
(the checkpoint average written by training).

Examples::

    python -m msrs.bin.avsr_inference --output_dir exp/vsr/decode_test \\
        --asr_train_config exp/vsr/config.yaml \\
        --data_path_and_name_and_type dump/test/video.scp,video,video \\
        --beam_size 40 --ctc_weight 0.1

    # audio with babble at 0 dB SNR; shard 1 of 8
    python -m msrs.bin.avsr_inference ... --snr 0 --noise_file babble.wav \\
        --key_file exp/vsr/decode_test/keys.1.scp
"""

import argparse
import copy
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from espnet2.fileio.datadir_writer import (  # noqa: E402  (after task import)
    DatadirWriter,
)
from espnet2.text.build_tokenizer import build_tokenizer  # noqa: E402
from espnet2.text.token_id_converter import TokenIDConverter  # noqa: E402
from espnet2.torch_utils.device_funcs import to_device  # noqa: E402
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed  # noqa: E402
from espnet2.utils import config_argparse  # noqa: E402
from espnet2.utils.types import str2bool, str2triple_str, str_or_none  # noqa: E402
from espnet.nets.batch_beam_search import BatchBeamSearch  # noqa: E402
from espnet.nets.beam_search import BeamSearch, Hypothesis  # noqa: E402
from espnet.nets.scorer_interface import BatchScorerInterface  # noqa: E402
from espnet.nets.scorers.ctc import CTCPrefixScorer  # noqa: E402
from espnet.nets.scorers.length_bonus import LengthBonus  # noqa: E402

from msrs.tasks.avsr import STREAMS, AVSRTask

logger = logging.getLogger(__name__)

DEFAULT_MODEL_FILE = "valid.acc.ave.pth"
SAMPLE_RATE = 16000
FPS = 25


class AVSRDecoder:
    """A trained model + beam search, decoding encoder batches utterance by utterance.

    Args:
        asr_train_config: the training ``config.yaml``.
        asr_model_file: model weights (default: ``valid.acc.ave.pth`` next to
            the config, else ``None`` = random init, for tests only).
        lm_train_config: ESPnet LM config (optional).
        lm_file: ESPnet LM weights.
        lm_weight: LM weight in shallow fusion (our default 0.3).
        beam_size: beam width (Auto-AVSR: 40).
        ctc_weight: CTC prefix-score weight (Auto-AVSR: 0.1).
        penalty: length bonus per token.
        nbest: hypotheses kept per utterance.
        maxlenratio: max output length / encoder frames (0: encoder length).
        minlenratio: min output length / encoder frames.
        normalize_length: length-normalised final scores.
        device: ``cpu`` or ``cuda``.
        dtype: ``float32``, ``float16``, ``bfloat16`` or ``float64``.
        token_type: override the training token type.
        bpemodel: override the training SentencePiece model.
        drop_modality: AVSR only: zero the ``video`` or ``audio`` stream.
        allow_untrained: without a model file, decode the randomly initialised
            model instead of raising (pipeline tests only).
    """

    def __init__(
        self,
        asr_train_config: Optional[str] = None,
        asr_model_file: Optional[str] = None,
        lm_train_config: Optional[str] = None,
        lm_file: Optional[str] = None,
        lm_weight: float = 0.3,
        beam_size: int = 40,
        ctc_weight: float = 0.1,
        penalty: float = 0.0,
        nbest: int = 1,
        maxlenratio: float = 0.0,
        minlenratio: float = 0.0,
        normalize_length: bool = False,
        device: str = "cpu",
        dtype: str = "float32",
        token_type: Optional[str] = None,
        bpemodel: Optional[str] = None,
        drop_modality: Optional[str] = None,
        allow_untrained: bool = False,
    ):
        if asr_train_config is None and asr_model_file is None:
            raise ValueError("give --asr_train_config and/or --asr_model_file")
        if asr_model_file is None:
            candidate = Path(asr_train_config).parent / DEFAULT_MODEL_FILE
            if candidate.exists():
                asr_model_file = str(candidate)
            elif allow_untrained:
                logger.warning("no model file: decoding an untrained model")
            else:
                raise FileNotFoundError(
                    f"no --asr_model_file given and {candidate} does not exist "
                    "(train first, or pass --allow_untrained true for pipeline tests)"
                )
        if not 0.0 <= ctc_weight <= 1.0:
            raise ValueError(f"--ctc_weight must be in [0, 1]: {ctc_weight}")
        if nbest < 1 or beam_size < nbest:
            raise ValueError(
                f"need 1 <= --nbest ({nbest}) <= --beam_size ({beam_size})"
            )
        model, train_args = AVSRTask.build_model_from_file(
            asr_train_config, asr_model_file, device
        )
        model.to(dtype=getattr(torch, dtype)).eval()
        if drop_modality is not None and model.modality != "avsr":
            raise ValueError(
                f"--drop_modality needs an avsr model, not {model.modality}"
            )
        if ctc_weight < 1.0 and model.decoder is None:
            raise ValueError("the model has no attention decoder: use --ctc_weight 1.0")
        if ctc_weight > 0.0 and model.ctc is None:
            raise ValueError("the model has no CTC head: use --ctc_weight 0.0")
        token_list = list(model.token_list)
        scorers: Dict[str, Any] = dict(
            decoder=model.decoder if ctc_weight < 1.0 else None,
            ctc=(
                CTCPrefixScorer(ctc=model.ctc, eos=model.eos)
                if ctc_weight > 0
                else None
            ),
            length_bonus=LengthBonus(len(token_list)),
        )
        if lm_train_config is not None or lm_file is not None:
            from msrs.utils.espnet_import import import_espnet

            lm_task = import_espnet("espnet2.tasks.lm").LMTask
            lm, lm_args = lm_task.build_model_from_file(
                lm_train_config, lm_file, device
            )
            if list(lm_args.token_list) != token_list:
                raise ValueError(
                    f"LM {lm_train_config}: its token list differs from the model's"
                )
            scorers["lm"] = lm.lm
        weights = dict(
            decoder=1.0 - ctc_weight, ctc=ctc_weight, lm=lm_weight, length_bonus=penalty
        )
        scorers = {k: v for k, v in scorers.items() if v is not None}
        beam_search = BeamSearch(
            scorers=scorers,
            weights=weights,
            beam_size=beam_size,
            vocab_size=len(token_list),
            sos=model.sos,
            eos=model.eos,
            token_list=token_list,
            pre_beam_score_key=None if ctc_weight == 1.0 else "full",
            normalize_length=normalize_length,
        )
        non_batch = [
            k
            for k, v in beam_search.full_scorers.items()
            if not isinstance(v, BatchScorerInterface)
        ]
        if not non_batch:
            beam_search.__class__ = BatchBeamSearch
        else:
            logger.warning(
                "non-batch scorers %s: using the non-batch beam search", non_batch
            )
        beam_search.to(device=device, dtype=getattr(torch, dtype)).eval()
        for scorer in scorers.values():
            if isinstance(scorer, torch.nn.Module):
                scorer.to(device=device, dtype=getattr(torch, dtype)).eval()

        token_type = token_type or train_args.token_type
        bpemodel = bpemodel or train_args.bpemodel
        self.tokenizer = (
            None
            if token_type is None
            else build_tokenizer(token_type=token_type, bpemodel=bpemodel)
        )
        self.converter = TokenIDConverter(token_list=token_list)
        self.model = model
        self.train_args = train_args
        self.beam_search = beam_search
        self.nbest = nbest
        self.maxlenratio = maxlenratio
        self.minlenratio = minlenratio
        self.device = device
        self.dtype = dtype
        self.drop_modality = drop_modality

    @property
    def modality(self) -> str:
        return self.model.modality

    def hyp_to_result(
        self, hyp: Hypothesis
    ) -> Tuple[Optional[str], List[str], List[int], float]:
        """``(text, tokens, token_ids, score)`` of a hypothesis (no sos/eos/blank)."""
        yseq = (
            hyp.yseq.tolist() if isinstance(hyp.yseq, torch.Tensor) else list(hyp.yseq)
        )
        token_int = [t for t in yseq[1:-1] if t != 0]
        tokens = self.converter.ids2tokens(token_int)
        text = (
            self.tokenizer.tokens2text(tokens) if self.tokenizer is not None else None
        )
        return text, tokens, token_int, float(hyp.score)

    @torch.no_grad()
    def decode_batch(
        self, keys: Sequence[str], batch: Dict[str, torch.Tensor]
    ) -> List[List[Tuple[Optional[str], List[str], List[int], float]]]:
        """Encode a collated batch, then beam-search each utterance.

        Args:
            keys: utterance ids.
            batch: ``{"video", "video_lengths", "speech", "speech_lengths"}`` (subset).

        Returns:
            Per utterance, up to ``nbest`` results of :meth:`hyp_to_result`
            (an empty hypothesis if the search ended without any).
        """
        streams = {
            k: v
            for k, v in batch.items()
            if k in ("video", "video_lengths", "speech", "speech_lengths")
        }
        streams = to_device(streams, self.device)
        for k in ("video", "speech"):
            if k in streams:
                streams[k] = streams[k].to(getattr(torch, self.dtype))
        enc, enc_lens = self.model.encode(
            **streams, utt_id=list(keys), drop_modality=self.drop_modality
        )
        results = []
        for i, key in enumerate(keys):
            x = enc[i, : int(enc_lens[i])]
            hyps = self.beam_search(
                x=x, maxlenratio=self.maxlenratio, minlenratio=self.minlenratio
            )
            out = [self.hyp_to_result(h) for h in hyps[: self.nbest]]
            if not out:
                logger.warning("%s: beam search returned no hypothesis", key)
                out = [("", [], [], float("-inf"))]
            logger.info("%s: %s", key, out[0][0])
            results.append(out)
        return results


def _decode_safely(
    decoder: AVSRDecoder,
    keys: Sequence[str],
    batch: Dict[str, torch.Tensor],
    failures: List[Tuple[str, str]],
) -> List[Optional[list]]:
    """Decode a batch; on an error, decode its utterances one by one.

    An utterance that still fails is appended to ``failures`` as
    ``(utt_id, reason)`` and gets ``None`` (the job goes on).
    """
    try:
        return decoder.decode_batch(keys, batch)
    except (ValueError, RuntimeError) as e:
        if len(keys) == 1:
            logger.warning("%s: decoding failed: %s", keys[0], e)
            failures.append((keys[0], f"{type(e).__name__}: {e}"))
            return [None]
    results: List[Optional[list]] = []
    for i, key in enumerate(keys):
        one = {}
        for k, v in batch.items():
            one[k] = v[i : i + 1]
        for name in ("video", "speech"):
            if name in one:
                one[name] = one[name][:, : int(one[f"{name}_lengths"][0])]
        results.extend(_decode_safely(decoder, [key], one, failures))
    return results


def _media_seconds(batch: Dict[str, torch.Tensor], i: int) -> float:
    if "video_lengths" in batch:
        return float(batch["video_lengths"][i]) / FPS
    if "speech_lengths" in batch:
        return float(batch["speech_lengths"][i]) / SAMPLE_RATE
    return 0.0


def inference(
    output_dir: str,
    data_path_and_name_and_type: Sequence[Tuple[str, str, str]],
    asr_train_config: Optional[str] = None,
    asr_model_file: Optional[str] = None,
    key_file: Optional[str] = None,
    batch_size: int = 1,
    num_workers: int = 0,
    ngpu: int = 0,
    seed: int = 0,
    dtype: str = "float32",
    snr: Optional[float] = None,
    noise_file: Optional[str] = None,
    allow_variable_data_keys: bool = False,
    **decoder_kwargs,
) -> Dict[str, float]:
    """Decode every utterance of the data files and write ESPnet's hyp layout.

    Args:
        output_dir: output directory (created).
        data_path_and_name_and_type: ``(path, name, type)`` triples
            (``video``/``speech`` as in training; ``text`` is not needed).
        asr_train_config: training ``config.yaml``.
        asr_model_file: weights (default ``valid.acc.ave.pth`` beside the config).
        key_file: decode only these utterances (first column), in this order.
        batch_size: utterances per encoder batch.
        num_workers: data loader workers.
        ngpu: 0 (CPU) or 1.
        seed: random seed.
        dtype: computation dtype.
        snr: add noise at this SNR (dB) to the audio stream; ``None``: clean.
        noise_file: noise recording (default: the training ``noise_file``).
        allow_variable_data_keys: ignore data names the model does not use.
        decoder_kwargs: :class:`AVSRDecoder` options.

    Returns:
        ``{"utterances", "failed", "media_seconds", "decode_seconds", "rtf"}``.
    """
    if ngpu > 1:
        raise NotImplementedError("decoding uses at most one GPU (--ngpu 0 or 1)")
    set_all_random_seed(seed)
    device = "cuda" if ngpu > 0 else "cpu"
    decoder = AVSRDecoder(
        asr_train_config=asr_train_config,
        asr_model_file=asr_model_file,
        device=device,
        dtype=dtype,
        **decoder_kwargs,
    )
    args = copy.deepcopy(decoder.train_args)
    names = [name for _, name, _ in data_path_and_name_and_type]
    wanted = set(STREAMS[decoder.modality])
    missing = sorted(wanted - set(names))
    if missing:
        raise ValueError(
            f"the model is {decoder.modality}: --data_path_and_name_and_type needs "
            f"{missing} (given {names})"
        )
    if not allow_variable_data_keys:
        extra = sorted(set(names) - wanted)
        if extra:
            raise ValueError(
                f"data name(s) {extra} are not used by a {decoder.modality} model; "
                "remove them or pass --allow_variable_data_keys true"
            )
    data = [t for t in data_path_and_name_and_type if t[1] in wanted]
    conf = dict(getattr(args, "preprocessor_conf", None) or {})
    if snr is not None:
        if "speech" not in wanted:
            raise ValueError(f"--snr needs audio, but the model is {decoder.modality}")
        noise_file = noise_file or conf.get("noise_file")
        if noise_file is None:
            raise ValueError("--snr needs --noise_file (the training config has none)")
        conf["noise_file"] = noise_file
    conf["test_snr"] = snr
    args.preprocessor_conf = conf
    preprocess_fn = AVSRTask.build_preprocess_fn(args, train=False)
    loader = AVSRTask.build_streaming_iterator(
        data_path_and_name_and_type=data,
        preprocess_fn=preprocess_fn,
        collate_fn=AVSRTask.build_collate_fn(args, train=False),
        key_file=key_file,
        batch_size=batch_size,
        dtype="float32",
        num_workers=num_workers,
        ngpu=ngpu,
        inference=True,
        mode="inference",
    )

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_ok, media_s, decode_s = 0, 0.0, 0.0
    reported_failures = 0
    with DatadirWriter(out) as writer, (out / "failed_utts.txt").open("w") as failed:

        def write_failures() -> None:
            nonlocal reported_failures
            for uid, reason in loader.skipped[reported_failures:]:
                failed.write(f"{uid} {reason}\n")
                w = writer["1best_recog"]
                for name in ("token", "token_int", "text"):
                    w[name][uid] = ""
                w["score"][uid] = "-inf"
            reported_failures = len(loader.skipped)

        for keys, batch in loader:
            start = time.perf_counter()
            results = _decode_safely(decoder, keys, batch, loader.skipped)
            if device == "cuda":
                torch.cuda.synchronize()
            decode_s += time.perf_counter() - start
            for i, key in enumerate(keys):
                if results[i] is None:
                    continue
                media_s += _media_seconds(batch, i)
                for n, (text, tokens, token_int, score) in enumerate(results[i], 1):
                    w = writer[f"{n}best_recog"]
                    w["token"][key] = " ".join(tokens)
                    w["token_int"][key] = " ".join(map(str, token_int))
                    w["score"][key] = str(score)
                    if text is not None:
                        w["text"][key] = text
            n_ok += sum(r is not None for r in results)
            write_failures()
        write_failures()
    rtf = decode_s / media_s if media_s > 0 else float("nan")
    summary = dict(
        utterances=float(n_ok),
        failed=float(len(loader.skipped)),
        media_seconds=media_s,
        decode_seconds=decode_s,
        rtf=rtf,
    )
    logger.info(
        "decoded %d utterances (%d failed): %.1f s of media in %.1f s, RTF %.3f",
        n_ok,
        len(loader.skipped),
        media_s,
        decode_s,
        rtf,
    )
    return summary


def get_parser() -> argparse.ArgumentParser:
    """Command-line options (ESPnet ``asr_inference`` names where they exist)."""
    parser = config_argparse.ArgumentParser(
        description="Decode with a VSR/ASR/AVSR model (msrs)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--log_level",
        type=lambda x: x.upper(),
        default="INFO",
        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"),
        help="The verbose level of logging",
    )
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU, 1: one GPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float16", "bfloat16", "float32", "float64"],
    )
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument(
        "--batch_size", type=int, default=1, help="utterances per encoder batch"
    )

    group = parser.add_argument_group("Input data related")
    group.add_argument(
        "--data_path_and_name_and_type",
        type=str2triple_str,
        required=True,
        action="append",
        help="e.g. dump/test/video.scp,video,video and/or "
        "dump/test/wav.scp,speech,sound",
    )
    group.add_argument(
        "--key_file", type=str_or_none, help="decode only these utterances"
    )
    group.add_argument("--allow_variable_data_keys", type=str2bool, default=False)

    group = parser.add_argument_group("The model configuration related")
    group.add_argument(
        "--asr_train_config", type=str_or_none, help="training config.yaml"
    )
    group.add_argument(
        "--asr_model_file",
        type=str_or_none,
        help=f"model weights (default: {DEFAULT_MODEL_FILE} next to the config)",
    )
    group.add_argument(
        "--model_archive",
        type=str_or_none,
        default=None,
        help="a model archive from msrs.bin.pack (sets --asr_train_config, "
        "--asr_model_file and, if packed, the LM options)",
    )
    group.add_argument(
        "--lm_train_config", type=str_or_none, help="ESPnet LM config.yaml"
    )
    group.add_argument("--lm_file", type=str_or_none, help="ESPnet LM weights")
    group.add_argument(
        "--allow_untrained",
        type=str2bool,
        default=False,
        help="decode a randomly initialised model when no model file exists "
        "(pipeline tests)",
    )

    group = parser.add_argument_group("Beam-search related")
    group.add_argument("--beam_size", type=int, default=40)
    group.add_argument("--ctc_weight", type=float, default=0.1)
    group.add_argument("--lm_weight", type=float, default=0.3)
    group.add_argument(
        "--penalty", type=float, default=0.0, help="length bonus per token"
    )
    group.add_argument("--nbest", type=int, default=1)
    group.add_argument("--maxlenratio", type=float, default=0.0)
    group.add_argument("--minlenratio", type=float, default=0.0)
    group.add_argument("--normalize_length", type=str2bool, default=False)

    group = parser.add_argument_group("Text converter related")
    group.add_argument(
        "--token_type",
        type=str_or_none,
        default=None,
        help="default: the training token type",
    )
    group.add_argument(
        "--bpemodel",
        type=str_or_none,
        default=None,
        help="default: the training bpe model",
    )

    group = parser.add_argument_group("Test conditions")
    group.add_argument(
        "--snr",
        type=float,
        default=None,
        help="add noise to the audio at this SNR in dB (0 is a real SNR)",
    )
    group.add_argument(
        "--noise_file",
        type=str_or_none,
        default=None,
        help="noise recording (default: the training noise_file)",
    )
    group.add_argument(
        "--drop_modality",
        type=str_or_none,
        default=None,
        choices=[None, "video", "audio"],
        help="AVSR models: zero one stream at the fusion input",
    )
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Entry point: ``python -m msrs.bin.avsr_inference ...``."""
    print(
        " ".join([sys.executable] + (list(cmd) if cmd is not None else sys.argv)),
        file=sys.stderr,
    )
    args = get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    kwargs = vars(args)
    kwargs.pop("config", None)
    kwargs.pop("log_level")
    archive = kwargs.pop("model_archive")
    made_by = {  # checked before any model is built: say which stage makes the file
        "asr_train_config": "written by training, stage 7 of egs/TEMPLATE/avsr.sh",
        "asr_model_file": "written by training (stage 7; valid.acc.ave.pth after its last epoch)",
        "lm_train_config": "written by LM training, stage 5",
        "lm_file": "written by LM training, stage 5",
        "key_file": "a list of utterance ids",
        "model_archive": "written by packing, stage 11",
    }
    for opt, what in made_by.items():
        path = archive if opt == "model_archive" else kwargs.get(opt)
        if path is not None and not Path(path).exists():
            raise SystemExit(f"avsr_inference: --{opt} {path}: no such file ({what})")
    if archive is not None:
        from msrs.utils.model_archive import unpack

        for key, path in unpack(archive).items():
            if kwargs.get(key) is not None:
                raise SystemExit(f"--model_archive already sets --{key}; drop one")
            kwargs[key] = path
    inference(**kwargs)


if __name__ == "__main__":
    main()
