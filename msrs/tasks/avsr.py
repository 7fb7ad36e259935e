"""AVSRTask: lip reading (VSR), ASR and audio-visual ASR on ESPnet.

``AVSRTask`` is ESPnet's ``ASRTask`` with its own registries, data names and
data type, a fault-tolerant data pipeline and the msrs sparsity machinery::

    python -m msrs.bin.avsr_train --config conf/train_vsr.yaml \\
        --modality vsr --token_list data/token_list/bpe1000/tokens.txt \\
        --train_data_path_and_name_and_type dump/train/video.scp,video,video \\
        --train_data_path_and_name_and_type dump/train/text,text,text \\
        --train_shape_file exp/stats/train/video_shape ...

Registries (``--<name>`` and ``--<name>_conf``; ESPnet's classes merged with
ours; importing this module registers everything, so spawned DDP workers
see it):

==================  ==========================================  ===============
option              keys                                        default
==================  ==========================================  ===============
video_frontend      resnet (msrs)                               resnet
audio_frontend      resnet1d (msrs), default (log-mel), ESPnet  resnet1d
normalize           global_mvn, utterance_mvn (audio features)  none
encoder             conformer, e_branchformer, branchformer,    conformer
                    transformer, ... (all of ESPnet's)
audio_encoder       same as encoder; none = same as encoder     none
fusion              mlp, concat (msrs)                          mlp
decoder             transformer, ... (all of ESPnet's)          transformer
model               avsr (msrs)                                 avsr
preprocessor        avsr (msrs)                                 avsr
sparsity            msrs.sparse methods                         none
==================  ==========================================  ===============

Data names: ``video`` (type ``video``), ``speech`` (type ``sound``, 16 kHz),
``text`` (type ``text``).  ``--modality`` (``vsr``, ``asr``, ``avsr``)
decides which streams are required; a missing or superfluous stream is a
configuration error reported before any model is built.

Per-modality encoders in AVSR: ``--encoder``/``--encoder_conf`` configure
the video encoder (and the only encoder in ``vsr``, ``asr`` and early fusion).
``--audio_encoder``/``--audio_encoder_conf`` configure the audio encoder of
late fusion; with ``--audio_encoder none`` (default) it is built with the
encoder's class and ``{**encoder_conf, **audio_encoder_conf}``, so a config
can override single keys.  ``model_conf.share_encoder: true`` runs one
encoder on both streams instead.
"""

import argparse
import dataclasses
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Collection, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from typeguard import typechecked

from msrs.utils.espnet_import import import_espnet

_asr = import_espnet("espnet2.tasks.asr")

from espnet2.asr.ctc import CTC  # noqa: E402
from espnet2.asr.decoder.abs_decoder import AbsDecoder  # noqa: E402
from espnet2.asr.encoder.abs_encoder import AbsEncoder  # noqa: E402
from espnet2.asr.frontend.abs_frontend import AbsFrontend  # noqa: E402
from espnet2.iterators.abs_iter_factory import AbsIterFactory  # noqa: E402
from espnet2.layers.abs_normalize import AbsNormalize  # noqa: E402
from espnet2.tasks.abs_task import IteratorOptions  # noqa: E402
from espnet2.torch_utils.initialize import initialize  # noqa: E402
from espnet2.train.abs_espnet_model import AbsESPnetModel  # noqa: E402
from espnet2.train.class_choices import ClassChoices  # noqa: E402
from espnet2.train.distributed_utils import DistributedOption  # noqa: E402
from espnet2.train.preprocessor import AbsPreprocessor  # noqa: E402
from espnet2.utils.types import str2bool  # noqa: E402

from msrs.nets.abs_fusion import AbsFusion  # noqa: E402
from msrs.nets.audio_frontend import AudioResNet1DFrontend  # noqa: E402
from msrs.nets.avsr_model import ESPnetAVSRModel  # noqa: E402
from msrs.nets.fusion import ConcatFusion, MLPFusion  # noqa: E402
from msrs.nets.video_frontend import VideoResNetFrontend  # noqa: E402
from msrs.sparse import sparsity_choices  # noqa: E402
from msrs.sparse.task import SparsityTaskMixin  # noqa: E402
from msrs.tasks.avsr_data import (  # noqa: E402
    SkipAwareCollateFn,
    SkipFilteringIterator,
    SkipFilteringIterFactory,
    SkippingDataset,
    register_video_type,
)
from msrs.tasks.avsr_preprocessor import AVSRPreprocessor  # noqa: E402
from msrs.tasks.avsr_trainer import AVSRTrainer  # noqa: E402
from msrs.tasks.batch_order import (  # noqa: E402
    TIE_SENSITIVE_BATCH_TYPES,
    shuffled_shape_file,
)

ASRTask = _asr.ASRTask
MODALITIES = ("vsr", "asr", "avsr")
STREAMS = {"vsr": ("video",), "asr": ("speech",), "avsr": ("video", "speech")}

register_video_type()

video_frontend_choices = ClassChoices(
    name="video_frontend",
    classes=dict(resnet=VideoResNetFrontend),
    type_check=AbsFrontend,
    default="resnet",
    optional=True,
)
audio_frontend_choices = ClassChoices(
    name="audio_frontend",
    classes=dict(resnet1d=AudioResNet1DFrontend, **_asr.frontend_choices.classes),
    type_check=AbsFrontend,
    default="resnet1d",
    optional=True,
)
normalize_choices = ClassChoices(
    name="normalize",
    classes=dict(_asr.normalize_choices.classes),
    type_check=AbsNormalize,
    default=None,
    optional=True,
)
encoder_choices = ClassChoices(
    name="encoder",
    classes=dict(_asr.encoder_choices.classes),
    type_check=AbsEncoder,
    default="conformer",
)
audio_encoder_choices = ClassChoices(
    name="audio_encoder",
    classes=dict(_asr.encoder_choices.classes),
    type_check=AbsEncoder,
    default=None,
    optional=True,
)
fusion_choices = ClassChoices(
    name="fusion",
    classes=dict(mlp=MLPFusion, concat=ConcatFusion),
    type_check=AbsFusion,
    default="mlp",
    optional=True,
)
decoder_choices = ClassChoices(
    name="decoder",
    classes=dict(_asr.decoder_choices.classes),
    type_check=AbsDecoder,
    default="transformer",
    optional=True,
)
model_choices = ClassChoices(
    name="model",
    classes=dict(avsr=ESPnetAVSRModel),
    type_check=AbsESPnetModel,
    default="avsr",
)
preprocessor_choices = ClassChoices(
    name="preprocessor",
    classes=dict(avsr=AVSRPreprocessor),
    type_check=AbsPreprocessor,
    default="avsr",
)

#: ESPnet ASR options that AVSRTask does not use; setting them is an error.
_UNUSED_ASR_OPTIONS = {
    "input_size": None,
    "rir_scp": None,
    "noise_scp": None,
    "speech_volume_normalize": None,
    "aux_ctc_tasks": [],
    "joint_net_conf": None,
    "use_lang_prompt": False,
    "use_nlp_prompt": False,
}


def _accepted_kwargs(cls: type) -> Optional[List[str]]:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return [n for n in params if n != "self"]


def check_conf(option: str, cls: type, conf: Dict[str, Any], fixed: Sequence[str] = ()):
    """Raise a clear error for unknown or reserved keys in ``--<option>_conf``.

    Args:
        option: option name without dashes (e.g. ``encoder``).
        cls: class the conf is passed to.
        conf: the ``*_conf`` dict.
        fixed: keyword arguments the task sets itself (not allowed in ``conf``).
    """
    accepted = _accepted_kwargs(cls)
    if accepted is not None:
        unknown = sorted(set(conf) - set(accepted))
        if unknown:
            valid = sorted(set(accepted) - set(fixed))
            raise ValueError(
                f"--{option}_conf: {cls.__name__} has no option(s) {unknown}; "
                f"valid options: {valid}"
            )
    reserved = sorted(set(conf) & set(fixed))
    if reserved:
        raise ValueError(
            f"--{option}_conf: {reserved} are set by the task and cannot be configured"
        )


def _build(choices: ClassChoices, name: Optional[str], conf: Dict[str, Any], **fixed):
    cls = choices.get_class(name)
    conf = dict(conf or {})
    check_conf(choices.name, cls, conf, tuple(fixed))
    return cls(**fixed, **conf)


def _data_names(triples: Sequence[Sequence[str]]) -> List[str]:
    return [t[1] for t in triples or []]


class AVSRTask(SparsityTaskMixin, ASRTask):
    """VSR / ASR / AVSR task (see the module docstring)."""

    num_optimizers: int = 1

    class_choices_list = [
        video_frontend_choices,
        audio_frontend_choices,
        normalize_choices,
        encoder_choices,
        audio_encoder_choices,
        fusion_choices,
        decoder_choices,
        model_choices,
        preprocessor_choices,
        sparsity_choices,
    ]

    trainer = AVSRTrainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        """ESPnet's ASR task options, our registries, and ``--modality``."""
        super().add_task_arguments(parser)
        group = parser.add_argument_group(description="AVSR task related")
        group.add_argument(
            "--modality",
            type=str,
            default="vsr",
            choices=MODALITIES,
            help="Input streams: vsr (video), asr (speech) or avsr (both)",
        )
        group.add_argument(
            "--shuffle_length_ties",
            type=str2bool,
            default=True,
            help="Shuffle the key order (seeded by --seed) before ESPnet's length-based "
            "samplers sort the training set, so utterances of equal length (frequent "
            "with 25 fps frame counts) are not batched in speaker order "
            "(see msrs/tasks/batch_order.py)",
        )

    @classmethod
    def print_config(cls, file=None) -> None:
        """Print the default config (to the current ``sys.stdout``).

        ``AbsTask.print_config`` binds ``file=sys.stdout`` when ESPnet is
        imported, which is a captured buffer under ``import_espnet``.
        """
        super().print_config(file=sys.stdout if file is None else file)

    # ------------------------------------------------------------------ checks
    @classmethod
    def check_required_command_args(cls, args: argparse.Namespace):
        """ESPnet's checks, then modality/data-name and unused-option checks."""
        super().check_required_command_args(args)
        cls.check_modality_and_data(args)

    @classmethod
    def check_modality_and_data(cls, args: argparse.Namespace) -> None:
        """Fail fast on a modality/data mismatch or an unused ESPnet ASR option.

        Raises:
            ValueError: naming the option and what is wrong.
        """
        modality = getattr(args, "modality", None)
        if modality not in MODALITIES:
            raise ValueError(
                f"--modality must be one of {MODALITIES}, got {modality!r}"
            )
        for key, default in _UNUSED_ASR_OPTIONS.items():
            if getattr(args, key, default) not in (default, None, [], {}):
                raise ValueError(
                    f"--{key} is an ESPnet ASR option that AVSRTask does not use; "
                    "remove it (noise augmentation is preprocessor_conf.noise_file)"
                )
        wanted = set(STREAMS[modality])
        for opt in (
            "train_data_path_and_name_and_type",
            "valid_data_path_and_name_and_type",
        ):
            triples = getattr(args, opt, None)
            if not triples:
                continue
            names = _data_names(triples)
            streams = {n for n in names if n in ("video", "speech")}
            missing = sorted(wanted - streams)
            extra = sorted(streams - wanted)
            if missing:
                raise ValueError(
                    f"--modality {modality} needs data name(s) {missing} in --{opt} "
                    f"(given: {names}); e.g. dump/<set>/video.scp,video,video or "
                    "dump/<set>/wav.scp,speech,sound"
                )
            if extra:
                raise ValueError(
                    f"--{opt} gives data name(s) {extra} that --modality {modality} "
                    "does not use; remove them or change --modality"
                )
            for path, name, typ in triples:
                if name == "video" and typ != "video":
                    raise ValueError(
                        f"--{opt} {path},{name},{typ}: the video stream needs "
                        "type 'video'"
                    )

    @classmethod
    def required_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        """``text`` in training; the streams are checked per ``--modality``."""
        return () if inference else ("text",)

    @classmethod
    def optional_data_names(
        cls, train: bool = True, inference: bool = False
    ) -> Tuple[str, ...]:
        return ("video", "speech")

    # ------------------------------------------------------------------ data
    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.array]], Dict[str, np.ndarray]]]:
        """The ``--preprocessor`` (default ``avsr``) with the task's text options."""
        if not getattr(args, "use_preprocessor", True):
            return None
        name = getattr(args, "preprocessor", None) or "avsr"
        conf = dict(getattr(args, "preprocessor_conf", None) or {})
        return _build(
            preprocessor_choices,
            name,
            conf,
            train=train,
            modality=args.modality,
            token_type=args.token_type,
            token_list=args.token_list,
            bpemodel=args.bpemodel,
            non_linguistic_symbols=getattr(args, "non_linguistic_symbols", None),
            text_cleaner=getattr(args, "cleaner", None),
            g2p_type=getattr(args, "g2p", None),
        )

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]],
        Tuple[List[str], Dict[str, torch.Tensor]],
    ]:
        """ESPnet's padding collate that also drops skipped utterances."""
        return SkipAwareCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    def build_dataset(
        cls,
        args: argparse.Namespace,
        iter_options: IteratorOptions,
        keys_to_load=None,
    ):
        """:class:`~msrs.tasks.avsr_data.SkippingDataset` (bad items are skipped)."""
        if getattr(args, "multi_task_dataset", False):
            raise ValueError("--multi_task_dataset is not supported by AVSRTask")
        if iter_options.train and iter_options.max_cache_size:
            logging.warning(
                "--max_cache_size > 0 caches preprocessed training items, which "
                "freezes the random crops, time masks and noise after epoch 1"
            )
        dataset = SkippingDataset(
            iter_options.data_path_and_name_and_type,
            float_dtype=args.train_dtype,
            preprocess=iter_options.preprocess_fn,
            max_cache_size=iter_options.max_cache_size,
            max_cache_fd=iter_options.max_cache_fd,
            allow_multi_rates=iter_options.allow_multi_rates,
            keys_to_load=keys_to_load,
        )
        cls.check_task_requirements(
            dataset, args.allow_variable_data_keys, train=iter_options.train
        )
        return dataset

    @classmethod
    def build_sequence_iter_factory(
        cls, args: argparse.Namespace, iter_options: IteratorOptions, mode: str
    ) -> AbsIterFactory:
        """ESPnet's factory; with ``--shuffle_length_ties`` the training batches
        are built from a seeded random key order (:mod:`msrs.tasks.batch_order`)."""
        if (
            iter_options.train
            and getattr(args, "shuffle_length_ties", False)
            and iter_options.batch_type in TIE_SENSITIVE_BATCH_TYPES
            and iter_options.shape_files
        ):
            out_dir = Path(args.output_dir or ".") / ".batch_order"
            first = shuffled_shape_file(
                iter_options.shape_files[0], out_dir, seed=args.seed, tag=mode
            )
            iter_options = dataclasses.replace(
                iter_options, shape_files=[first, *iter_options.shape_files[1:]]
            )
        return super().build_sequence_iter_factory(args, iter_options, mode)

    @classmethod
    def build_iter_factory(
        cls,
        args: argparse.Namespace,
        distributed_option: DistributedOption,
        mode: str,
        kwargs: Optional[dict] = None,
    ) -> AbsIterFactory:
        """ESPnet's factory, wrapped so that skipped utterances are logged/counted."""
        if getattr(args, "iterator_type", "sequence") != "sequence" or (
            mode == "valid"
            and getattr(args, "valid_iterator_type", None) not in (None, "sequence")
        ):
            raise ValueError("AVSRTask supports --iterator_type sequence only")
        inner = super().build_iter_factory(args, distributed_option, mode, kwargs)
        return SkipFilteringIterFactory(inner, mode)

    @classmethod
    def build_streaming_iterator(
        cls,
        data_path_and_name_and_type,
        preprocess_fn,
        collate_fn,
        key_file: Optional[str] = None,
        batch_size: int = 1,
        dtype: Optional[Any] = np.float32,
        num_workers: int = 1,
        allow_variable_data_keys: bool = False,
        ngpu: int = 0,
        inference: bool = False,
        mode: Optional[str] = None,
        multi_task_dataset: bool = False,
    ) -> SkipFilteringIterator:
        """Sequential iterator over a data directory (collect-stats, inference).

        Unlike ESPnet's iterable dataset it reads items by key, so one bad
        utterance is skipped with a warning instead of ending the iteration.
        Keys come from ``key_file`` (one ``<utt_id> ...`` per line: used for
        sharded jobs) or the first data file, in file order.
        """
        if multi_task_dataset:
            raise ValueError("--multi_task_dataset is not supported by AVSRTask")
        keys = _first_column(key_file) if key_file is not None else None
        dtype_name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
        dataset = SkippingDataset(
            data_path_and_name_and_type,
            float_dtype=dtype_name,
            preprocess=preprocess_fn,
            keys_to_load=set(keys) if keys is not None else None,
        )
        cls.check_task_requirements(
            dataset, allow_variable_data_keys, train=False, inference=inference
        )
        if keys is None:
            keys = list(next(iter(dataset.loader_dict.values())).keys())
        if collate_fn is None:
            collate_fn = SkipAwareCollateFn(float_pad_value=0.0, int_pad_value=-1)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=keys,
            collate_fn=collate_fn,
            num_workers=num_workers,
            pin_memory=ngpu > 0,
        )
        return SkipFilteringIterator(
            loader, mode or ("inference" if inference else "collect_stats")
        )

    # ------------------------------------------------------------------ model
    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetAVSRModel:
        """Build frontends, encoder(s), fusion, decoder and CTC, then attach sparsity.

        Raises:
            ValueError: an unknown registry key or ``*_conf`` option, or a
                component missing for the modality.
        """
        if isinstance(args.token_list, str):
            with open(args.token_list, encoding="utf-8") as f:
                token_list = [line.rstrip() for line in f]
            args.token_list = list(token_list)
        elif isinstance(args.token_list, (tuple, list)):
            token_list = list(args.token_list)
        else:
            raise ValueError("--token_list must be a file or a list of tokens")
        vocab_size = len(token_list)
        modality = getattr(args, "modality", "vsr")
        if modality not in MODALITIES:
            raise ValueError(
                f"--modality must be one of {MODALITIES}, got {modality!r}"
            )
        if getattr(args, "input_size", None) is not None:
            raise ValueError(
                "--input_size is not used by AVSRTask (frontends are built in)"
            )
        model_conf = dict(getattr(args, "model_conf", None) or {})
        model_class = model_choices.get_class(getattr(args, "model", None) or "avsr")
        fixed_model_args = (
            "vocab_size",
            "token_list",
            "modality",
            "video_frontend",
            "audio_frontend",
            "normalize",
            "encoder",
            "audio_encoder",
            "fusion",
            "decoder",
            "ctc",
        )
        check_conf("model", model_class, model_conf, fixed_model_args)
        fusion_stage = model_conf.get("fusion_stage", "late")
        share_encoder = bool(model_conf.get("share_encoder", False))
        uses_video = modality in ("vsr", "avsr")
        uses_audio = modality in ("asr", "avsr")

        def need(option: str) -> str:
            value = getattr(args, option, None)
            if value is None:
                raise ValueError(f"--modality {modality} needs --{option}")
            return value

        video_frontend = audio_frontend = normalize = None
        if uses_video:
            video_frontend = _build(
                video_frontend_choices, need("video_frontend"), args.video_frontend_conf
            )
        if uses_audio:
            audio_frontend = _build(
                audio_frontend_choices, need("audio_frontend"), args.audio_frontend_conf
            )
            if getattr(args, "normalize", None) is not None:
                normalize = _build(
                    normalize_choices, args.normalize, args.normalize_conf
                )
        elif getattr(args, "normalize", None) is not None:
            raise ValueError(
                f"--normalize applies to audio features; --modality {modality} has none"
            )

        encoder_name = need("encoder")
        encoder_conf = dict(args.encoder_conf or {})
        audio_encoder = fusion = None
        if modality == "vsr":
            encoder = _build(
                encoder_choices,
                encoder_name,
                encoder_conf,
                input_size=video_frontend.output_size(),
            )
        elif modality == "asr":
            encoder = _build(
                encoder_choices,
                encoder_name,
                encoder_conf,
                input_size=audio_frontend.output_size(),
            )
        elif fusion_stage == "early":
            fusion = _build(
                fusion_choices,
                need("fusion"),
                args.fusion_conf,
                input_sizes=[
                    video_frontend.output_size(),
                    audio_frontend.output_size(),
                ],
            )
            encoder = _build(
                encoder_choices,
                encoder_name,
                encoder_conf,
                input_size=fusion.output_size(),
            )
        else:
            v_size, a_size = video_frontend.output_size(), audio_frontend.output_size()
            encoder = _build(
                encoder_choices, encoder_name, encoder_conf, input_size=v_size
            )
            if share_encoder:
                if v_size != a_size:
                    raise ValueError(
                        "model_conf.share_encoder needs equal frontend sizes, got "
                        f"video {v_size} and audio {a_size}"
                    )
                if (
                    getattr(args, "audio_encoder", None) is not None
                    or args.audio_encoder_conf
                ):
                    raise ValueError(
                        "--audio_encoder(_conf) cannot be set with share_encoder"
                    )
            elif getattr(args, "audio_encoder", None) is not None:
                audio_encoder = _build(
                    audio_encoder_choices,
                    args.audio_encoder,
                    args.audio_encoder_conf,
                    input_size=a_size,
                )
            else:
                audio_encoder = _build(
                    encoder_choices,
                    encoder_name,
                    {**encoder_conf, **(args.audio_encoder_conf or {})},
                    input_size=a_size,
                )
            sizes = [encoder.output_size(), (audio_encoder or encoder).output_size()]
            fusion = _build(
                fusion_choices, need("fusion"), args.fusion_conf, input_sizes=sizes
            )
        if modality != "avsr" and getattr(args, "audio_encoder", None) is not None:
            raise ValueError(
                f"--audio_encoder is only used by --modality avsr (got {modality})"
            )
        if uses_video and "conv2d" in str(encoder_conf.get("input_layer", "conv2d")):
            logging.warning(
                "encoder_conf.input_layer=%s subsamples the 25 fps video stream; "
                "lip-reading configs normally use input_layer: linear",
                encoder_conf.get("input_layer", "conv2d (ESPnet default)"),
            )

        out_size = (
            fusion.output_size()
            if (fusion is not None and fusion_stage == "late")
            else encoder.output_size()
        )
        decoder = None
        if getattr(args, "decoder", None) is not None:
            decoder = _build(
                decoder_choices,
                args.decoder,
                args.decoder_conf,
                vocab_size=vocab_size,
                encoder_output_size=out_size,
            )
        ctc_conf = dict(getattr(args, "ctc_conf", None) or {})
        check_conf("ctc", CTC, ctc_conf, ("odim", "encoder_output_size"))
        ctc = CTC(odim=vocab_size, encoder_output_size=out_size, **ctc_conf)

        model = model_class(
            vocab_size=vocab_size,
            token_list=token_list,
            modality=modality,
            video_frontend=video_frontend,
            audio_frontend=audio_frontend,
            normalize=normalize,
            encoder=encoder,
            audio_encoder=audio_encoder,
            fusion=fusion,
            decoder=decoder,
            ctc=ctc,
            **model_conf,
        )
        if getattr(args, "init", None) is not None:
            initialize(model, args.init)
        cls.attach_sparsity(args, model)
        return model


def _first_column(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        return [line.split(maxsplit=1)[0] for line in f if line.strip()]
