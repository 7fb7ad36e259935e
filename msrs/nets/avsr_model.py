"""Hybrid CTC/attention model for lip reading, ASR and audio-visual ASR."""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.decoder.abs_decoder import AbsDecoder
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from typeguard import typechecked

from msrs.nets.abs_fusion import AbsFusion
from msrs.nets.layer_scale import apply_layer_scale
from msrs.nets.utils import zero_padding

MODALITIES = ("vsr", "asr", "avsr")
FUSION_STAGES = ("late", "early")
DROP_MODALITIES = ("video", "audio")


def _describe(utt_id: Optional[Sequence[str]], index: int) -> str:
    if utt_id is not None and index < len(utt_id):
        return f"utterance {utt_id[index]!r}"
    return f"batch item {index}"


class ESPnetAVSRModel(ESPnetASRModel):
    """Video, audio or audio-visual encoder(s) + shared CTC and attention decoder.

    Registry key ``avsr`` (``--model avsr``).  Data flow per modality:

    - ``vsr``: ``video -> video_frontend -> encoder``;
    - ``asr``: ``speech -> audio_frontend [-> normalize] -> encoder``;
    - ``avsr``, ``fusion_stage: late`` (Auto-AVSR): ``video -> video_frontend ->
      encoder`` and ``speech -> audio_frontend -> audio_encoder`` (or the same
      ``encoder`` when ``share_encoder``), then ``fusion``;
    - ``avsr``, ``fusion_stage: early``: both frontends, ``fusion``, then one
      ``encoder`` (cheaper; our option).

    The streams are aligned before fusion: lengths differing by at most
    ``max_length_diff`` frames are cut to the shorter one (e.g. log-mel audio
    with conv2d subsampling vs. video); larger differences raise an error
    naming the utterance.

    Modality dropout (training, ``avsr`` only; our formulation): each
    utterance independently, with probability ``modality_dropout``, has one
    stream zeroed at the fusion input, the video stream with probability
    ``modality_dropout_video_prob`` and the audio stream otherwise.  Every
    parameter still receives a gradient, so DDP needs no
    ``--unused_parameters``.

    The loss is ESPnet's hybrid ``ctc_weight * L_ctc + (1 - ctc_weight) *
    L_att`` with label smoothing (Auto-AVSR: 0.1 and 0.1, our defaults).
    Sparsity penalties are **not** added here: ``msrs.sparse`` adds them via a
    forward hook.

    Args:
        vocab_size: number of tokens.
        token_list: tokens (``<blank>`` first, ``<sos/eos>`` last).
        modality: ``vsr``, ``asr`` or ``avsr``.
        video_frontend: video frontend (``vsr``/``avsr``), else ``None``.
        audio_frontend: audio frontend (``asr``/``avsr``), else ``None``.
        normalize: optional feature normalisation of the audio stream
            (ESPnet ``utterance_mvn``/``global_mvn``; useful with log-mel).
        encoder: the video encoder (``vsr``, late ``avsr``), the audio encoder
            (``asr``) or the encoder of the fused stream (early ``avsr``).
        audio_encoder: the audio encoder of late ``avsr`` (``None`` otherwise or
            when ``share_encoder``).
        fusion: fusion module (``avsr`` only).
        decoder: attention decoder (``None`` only when ``ctc_weight == 1``).
        ctc: CTC module.
        fusion_stage: ``late`` (after the encoders) or ``early`` (before one
            encoder).
        share_encoder: late ``avsr`` runs ``encoder`` on both streams.
        modality_dropout: probability of dropping one stream per utterance.
        modality_dropout_video_prob: probability that the dropped stream is video.
        max_length_diff: tolerated video/audio length difference in frames.
        layer_scale: wrap the residual branches of the encoder(s) in LayerScale
            (see :mod:`msrs.nets.layer_scale`).
        layer_scale_init: initial LayerScale value; ``None``: CaiT's depth rule.
        ctc_weight: CTC weight of the hybrid loss.
        ignore_id: padding id of the targets.
        lsm_weight: label smoothing of the attention loss.
        length_normalized_loss: normalise the attention loss by tokens.
        report_cer: report CER in validation.
        report_wer: report WER in validation.
        sym_space: space token.
        sym_blank: blank token.
        sym_sos: start token.
        sym_eos: end token.
        extract_feats_in_collect_stats: see ESPnet (only log-mel audio features
            are collected; our frontends have no statistics to collect).
    """

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        token_list: Union[Tuple[str, ...], List[str]],
        modality: str,
        video_frontend: Optional[AbsFrontend],
        audio_frontend: Optional[AbsFrontend],
        normalize: Optional[AbsNormalize],
        encoder: AbsEncoder,
        audio_encoder: Optional[AbsEncoder],
        fusion: Optional[AbsFusion],
        decoder: Optional[AbsDecoder],
        ctc: CTC,
        fusion_stage: str = "late",
        share_encoder: bool = False,
        modality_dropout: float = 0.0,
        modality_dropout_video_prob: float = 0.5,
        max_length_diff: int = 3,
        layer_scale: bool = False,
        layer_scale_init: Optional[float] = None,
        ctc_weight: float = 0.1,
        ignore_id: int = -1,
        lsm_weight: float = 0.1,
        length_normalized_loss: bool = False,
        report_cer: bool = True,
        report_wer: bool = True,
        sym_space: str = "<space>",
        sym_blank: str = "<blank>",
        sym_sos: str = "<sos/eos>",
        sym_eos: str = "<sos/eos>",
        extract_feats_in_collect_stats: bool = True,
    ):
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        if fusion_stage not in FUSION_STAGES:
            raise ValueError(
                f"model_conf.fusion_stage must be one of {FUSION_STAGES}, "
                f"got {fusion_stage!r}"
            )
        if not 0.0 <= modality_dropout <= 1.0:
            raise ValueError(
                f"model_conf.modality_dropout must be in [0, 1]: {modality_dropout}"
            )
        if not 0.0 <= modality_dropout_video_prob <= 1.0:
            raise ValueError(
                "model_conf.modality_dropout_video_prob must be in [0, 1]: "
                f"{modality_dropout_video_prob}"
            )
        if max_length_diff < 0:
            raise ValueError(
                f"model_conf.max_length_diff must be >= 0: {max_length_diff}"
            )
        needs_video = modality in ("vsr", "avsr")
        needs_audio = modality in ("asr", "avsr")
        if needs_video != (video_frontend is not None):
            raise ValueError(
                f"modality {modality!r} {'needs' if needs_video else 'takes no'} "
                "video frontend"
            )
        if needs_audio != (audio_frontend is not None):
            raise ValueError(
                f"modality {modality!r} {'needs' if needs_audio else 'takes no'} "
                "audio frontend"
            )
        if (modality == "avsr") != (fusion is not None):
            raise ValueError(
                f"modality {modality!r}: a fusion module is needed iff avsr"
            )
        late_separate = (
            modality == "avsr" and fusion_stage == "late" and not share_encoder
        )
        if late_separate != (audio_encoder is not None):
            raise ValueError(
                "a separate audio encoder is used exactly for modality 'avsr' with "
                "fusion_stage 'late' and share_encoder false"
            )

        super().__init__(
            vocab_size=vocab_size,
            token_list=token_list,
            frontend=None,
            specaug=None,
            normalize=normalize,
            preencoder=None,
            encoder=encoder,
            postencoder=None,
            decoder=decoder,
            ctc=ctc,
            joint_network=None,
            ctc_weight=ctc_weight,
            ignore_id=ignore_id,
            lsm_weight=lsm_weight,
            length_normalized_loss=length_normalized_loss,
            report_cer=report_cer,
            report_wer=report_wer,
            sym_space=sym_space,
            sym_blank=sym_blank,
            sym_sos=sym_sos,
            sym_eos=sym_eos,
            extract_feats_in_collect_stats=extract_feats_in_collect_stats,
        )
        self.modality = modality
        self.fusion_stage = fusion_stage
        self.share_encoder = share_encoder
        self.modality_dropout = modality_dropout
        self.modality_dropout_video_prob = modality_dropout_video_prob
        self.max_length_diff = max_length_diff
        self.video_frontend = video_frontend
        self.audio_frontend = audio_frontend
        self.audio_encoder = audio_encoder
        self.fusion = fusion
        if layer_scale:
            for enc in (self.encoder, self.audio_encoder):
                if enc is not None:
                    apply_layer_scale(enc, enc.output_size(), layer_scale_init)

    # ------------------------------------------------------------------ inputs
    def _check_stream(
        self,
        name: str,
        x: Optional[torch.Tensor],
        lengths: Optional[torch.Tensor],
        utt_id: Optional[Sequence[str]],
    ) -> None:
        data = "video" if name == "video" else "speech"
        example = "video.scp,video,video" if data == "video" else "wav.scp,speech,sound"
        if x is None or lengths is None:
            raise ValueError(
                f"modality {self.modality!r} needs the {data!r} input and "
                f"{data}_lengths (give a {data} data name, e.g. "
                f"'dump/<set>/{example}')"
            )
        for i, n in enumerate(lengths.tolist()):
            if n <= 0:
                raise ValueError(f"{_describe(utt_id, i)}: zero-length {name} stream")

    def _video_features(self, video, video_lengths, utt_id):
        self._check_stream("video", video, video_lengths, utt_id)
        return self.video_frontend(video, video_lengths)

    def _audio_features(self, speech, speech_lengths, utt_id):
        self._check_stream("audio", speech, speech_lengths, utt_id)
        feats, lengths = self.audio_frontend(speech, speech_lengths)
        if self.normalize is not None:
            feats, lengths = self.normalize(feats, lengths)
        for i, n in enumerate(lengths.tolist()):
            if n <= 0:
                raise ValueError(
                    f"{_describe(utt_id, i)}: audio is shorter than one frame "
                    f"({int(speech_lengths[i])} samples)"
                )
        return feats, lengths

    @staticmethod
    def _run_encoder(encoder: AbsEncoder, x: torch.Tensor, lengths: torch.Tensor):
        out, out_lens, _ = encoder(x, lengths)
        if isinstance(out, tuple):  # intermediate CTC outputs are not used here
            out = out[0]
        return out, out_lens

    def _align(
        self,
        xs: List[torch.Tensor],
        lens: List[torch.Tensor],
        utt_id: Optional[Sequence[str]],
    ) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Cut video/audio streams to a common length (see class docstring)."""
        diff = (lens[0] - lens[1]).abs()
        bad = torch.nonzero(diff > self.max_length_diff).flatten().tolist()
        if bad:
            i = bad[0]
            raise ValueError(
                f"{_describe(utt_id, i)}: video has {int(lens[0][i])} frames but audio "
                f"{int(lens[1][i])} after the frontends/encoders (more than "
                f"model_conf.max_length_diff={self.max_length_diff} apart)"
            )
        lengths = torch.minimum(lens[0], lens[1])
        t = int(lengths.max())
        return [zero_padding(x[:, :t], lengths) for x in xs], lengths

    def _drop_streams(
        self, v: torch.Tensor, a: torch.Tensor, drop_modality: Optional[str]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        if drop_modality is not None:
            if drop_modality not in DROP_MODALITIES:
                raise ValueError(
                    f"drop_modality must be one of {DROP_MODALITIES}, "
                    f"got {drop_modality!r}"
                )
            return (v * 0, a) if drop_modality == "video" else (v, a * 0)
        if not self.training or self.modality_dropout == 0.0:
            return v, a
        b = v.size(0)
        drop = torch.rand(b, device=v.device) < self.modality_dropout
        video_side = torch.rand(b, device=v.device) < self.modality_dropout_video_prob
        keep_v = (~(drop & video_side)).to(v.dtype)[:, None, None]
        keep_a = (~(drop & ~video_side)).to(a.dtype)[:, None, None]
        return v * keep_v, a * keep_a

    # ------------------------------------------------------------------ encode
    def encode(
        self,
        speech: Optional[torch.Tensor] = None,
        speech_lengths: Optional[torch.Tensor] = None,
        video: Optional[torch.Tensor] = None,
        video_lengths: Optional[torch.Tensor] = None,
        utt_id: Optional[Sequence[str]] = None,
        drop_modality: Optional[str] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Frontends + encoder(s) + fusion (used by training and inference).

        Args:
            speech: ``(B, S)`` 16 kHz samples (``asr``/``avsr``).
            speech_lengths: ``(B,)`` samples.
            video: ``(B, T, H, W)`` gray frames in 0..255 (``vsr``/``avsr``).
            video_lengths: ``(B,)`` frames.
            utt_id: utterance ids, only used in error messages.
            drop_modality: ``avsr`` only: zero the ``video`` or ``audio``
                stream at the fusion input (robustness evaluation).

        Returns:
            ``(B, T', D)`` encoder output and ``(B,)`` lengths (25 frames/s
            unless the encoder subsamples).
        """
        if self.modality == "vsr":
            x, lengths = self._video_features(video, video_lengths, utt_id)
            return self._run_encoder(self.encoder, x, lengths)
        if self.modality == "asr":
            x, lengths = self._audio_features(speech, speech_lengths, utt_id)
            return self._run_encoder(self.encoder, x, lengths)

        v, v_lens = self._video_features(video, video_lengths, utt_id)
        a, a_lens = self._audio_features(speech, speech_lengths, utt_id)
        if self.fusion_stage == "late":
            v, v_lens = self._run_encoder(self.encoder, v, v_lens)
            audio_encoder = self.encoder if self.share_encoder else self.audio_encoder
            a, a_lens = self._run_encoder(audio_encoder, a, a_lens)
        (v, a), lengths = self._align([v, a], [v_lens, a_lens], utt_id)
        v, a = self._drop_streams(v, a, drop_modality)
        x, lengths = self.fusion([v, a], lengths)
        if self.fusion_stage == "early":
            x, lengths = self._run_encoder(self.encoder, x, lengths)
        return x, lengths

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        video: Optional[torch.Tensor] = None,
        video_lengths: Optional[torch.Tensor] = None,
        speech: Optional[torch.Tensor] = None,
        speech_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Encode, then the hybrid CTC/attention loss.

        Args:
            text: ``(B, L)`` token ids padded with -1.
            text_lengths: ``(B,)``.
            video: ``(B, T, H, W)`` frames (``vsr``/``avsr``).
            video_lengths: ``(B,)``.
            speech: ``(B, S)`` samples (``asr``/``avsr``).
            speech_lengths: ``(B,)``.
            kwargs: ``utt_id`` (added by ESPnet's trainer) is used in errors.

        Returns:
            ESPnet's ``(loss, stats, weight)``.
        """
        if text_lengths.dim() != 1:
            raise ValueError(
                f"text_lengths must be (B,), got {tuple(text_lengths.shape)}"
            )
        batch_size = text.size(0)
        for name, x in (("video", video), ("speech", speech)):
            if x is not None and x.size(0) != batch_size:
                raise ValueError(
                    f"{name} batch size {x.size(0)} differs from text batch size "
                    f"{batch_size}"
                )
        text = text.clone()
        text[text == -1] = self.ignore_id
        text = text[:, : int(text_lengths.max())]

        encoder_out, encoder_out_lens = self.encode(
            speech, speech_lengths, video, video_lengths, utt_id=kwargs.get("utt_id")
        )

        stats: Dict[str, Optional[torch.Tensor]] = {}
        loss_ctc, loss_att = None, None
        if self.ctc_weight != 0.0:
            loss_ctc, cer_ctc = self._calc_ctc_loss(
                encoder_out, encoder_out_lens, text, text_lengths
            )
            stats["loss_ctc"] = loss_ctc.detach()
            stats["cer_ctc"] = cer_ctc
        if self.ctc_weight != 1.0:
            loss_att, acc_att, cer_att, wer_att = self._calc_att_loss(
                encoder_out, encoder_out_lens, text, text_lengths
            )
            stats["loss_att"] = loss_att.detach()
            stats["acc"] = acc_att
            stats["cer"] = cer_att
            stats["wer"] = wer_att
        if loss_att is None:
            loss = loss_ctc
        elif loss_ctc is None:
            loss = loss_att
        else:
            loss = self.ctc_weight * loss_ctc + (1.0 - self.ctc_weight) * loss_att
        stats["loss"] = loss.detach()
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def collect_feats(
        self,
        text: Optional[torch.Tensor] = None,
        text_lengths: Optional[torch.Tensor] = None,
        video: Optional[torch.Tensor] = None,
        video_lengths: Optional[torch.Tensor] = None,
        speech: Optional[torch.Tensor] = None,
        speech_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Log-mel features for ``global_mvn`` stats (ESPnet ``default`` frontend)."""
        if isinstance(self.audio_frontend, DefaultFrontend) and speech is not None:
            feats, lengths = self.audio_frontend(speech, speech_lengths)
            return {"feats": feats, "feats_lengths": lengths}
        return {}
