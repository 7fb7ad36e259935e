"""Data loading for :class:`msrs.tasks.avsr.AVSRTask`.

- The ESPnet data type ``video`` (``--*_data_path_and_name_and_type
  video.scp,video,video``): ``.npy`` uint8 ``(T, H, W)`` arrays or any
  PyAV-readable video decoded as gray, returned as float32 ``(T, H, W)`` in
  0..255 (ESPnet's dataset rejects uint8 after preprocessing).
- Fault tolerance.  ESPnet's dataset raises on a bad utterance and the
  exception kills the job.  Here :class:`SkippingDataset` turns a failure
  while loading or preprocessing one utterance into a marker that
  :class:`SkipAwareCollateFn` drops from the mini-batch; the iterator
  (:class:`SkipFilteringIterator`) logs one warning per skipped utterance
  naming it and the reason, drops batches left empty, and keeps the list so
  that the trainer reports the count per epoch (``skipped_utts`` in the
  ESPnet stats) and appends it to ``<output_dir>/skipped_utts.txt``.  An
  iteration in which every utterance fails raises, since that is a
  configuration error, not bad data.
"""

import collections.abc
import logging
from pathlib import Path
from typing import Any, Collection, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from espnet2.fileio.read_text import read_2columns_text
from espnet2.iterators.abs_iter_factory import AbsIterFactory
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.dataset import DATA_TYPES, ESPnetDataset

from msrs.data.roi_video import read_roi
from msrs.data.video_io import MediaError

logger = logging.getLogger(__name__)

#: dict key of a dataset item that failed; its value is the reason.
SKIP_KEY = "__skip_reason__"
#: batch key carrying ``[(utt_id, reason), ...]`` from the collate to the iterator.
SKIPPED_KEY = "__skipped__"


def load_video(path: Union[str, Path]) -> np.ndarray:
    """Read one ROI video as float32 ``(T, H, W)`` in 0..255.

    Args:
        path: ``.npy`` (uint8 or float ``(T, H, W)``) or a video file (read as
            gray on one thread by :func:`msrs.data.roi_video.read_roi`).

    Raises:
        MediaError: unreadable file, wrong shape or dtype, or no frames; the
            message starts with the path.
    """
    path = str(path)
    if path.endswith(".npy"):
        try:
            arr = np.load(path)
        except (OSError, ValueError) as e:
            raise MediaError(f"{path}: cannot read npy ({e})") from e
    else:
        arr = read_roi(path)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise MediaError(
            f"{path}: expected gray frames (T, H, W), got shape {arr.shape}"
        )
    if arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise MediaError(f"{path}: expected uint8 (or float) pixels, got {arr.dtype}")
    if arr.shape[0] == 0:
        raise MediaError(f"{path}: zero-length video (0 frames)")
    return arr.astype(np.float32)


class VideoScpReader(collections.abc.Mapping):
    """Lazy ``utt_id -> (T, H, W) float32`` mapping over a ``video.scp`` file.

    Args:
        fname: Kaldi-style ``<utt_id> <path>`` file.
    """

    def __init__(self, fname: Union[str, Path]):
        self.fname = str(fname)
        self.data = read_2columns_text(fname)

    def __getitem__(self, key: str) -> np.ndarray:
        return load_video(self.data[key])

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def keys(self):
        return self.data.keys()

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def video_loader(path: str) -> VideoScpReader:
    """ESPnet ``DATA_TYPES`` factory of the ``video`` type."""
    return VideoScpReader(path)


def register_video_type() -> None:
    """Add the ``video`` data type to ESPnet's ``DATA_TYPES`` (idempotent)."""
    DATA_TYPES.setdefault(
        "video",
        dict(
            func=video_loader,
            kwargs=[],
            help="Mouth-ROI video (msrs): .npy uint8 (T,H,W) or a video file read "
            "as gray; yields float32 (T,H,W) in 0..255.\n\n"
            "   utterance_id_a a.npy\n"
            "   utterance_id_b b.mp4\n"
            "   ...",
        ),
    )


def _failure_reason(dataset: ESPnetDataset, uid: str, exc: BaseException) -> str:
    missing = []
    for name, loader in dataset.loader_dict.items():
        try:
            if uid not in loader.keys():
                missing.append(f"{name} ({dataset.debug_info[name][0]})")
        except Exception:  # a loader without keys(): report the exception instead
            continue
    if missing:
        return "not listed in " + ", ".join(missing)
    msg = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class SkippingDataset(ESPnetDataset):
    """``ESPnetDataset`` that returns a skip marker instead of raising.

    ``dataset[uid]`` returns ``(uid, {SKIP_KEY: reason})`` when reading,
    preprocessing or type-casting the utterance fails.
    """

    def __getitem__(self, uid: Union[str, int]) -> Tuple[str, Dict[str, Any]]:
        try:
            return super().__getitem__(uid)
        except Exception as e:  # noqa: BLE001 -- every per-item failure is skipped
            if isinstance(uid, int):
                uid = list(next(iter(self.loader_dict.values())))[uid]
            return str(uid), {SKIP_KEY: _failure_reason(self, str(uid), e)}


class SkipAwareCollateFn(CommonCollateFn):
    """``CommonCollateFn`` that drops skip markers and lists them in the batch.

    The batch gets ``batch[SKIPPED_KEY] = [(utt_id, reason), ...]``; the
    iterator pops it before the batch reaches the model.
    """

    def __call__(
        self, data: Collection[Tuple[str, Dict[str, Any]]]
    ) -> Tuple[List[str], Dict[str, Any]]:
        ok = [(u, d) for u, d in data if SKIP_KEY not in d]
        skipped = [(u, d[SKIP_KEY]) for u, d in data if SKIP_KEY in d]
        if ok:
            uttids, batch = super().__call__(ok)
        else:
            uttids, batch = [], {}
        batch[SKIPPED_KEY] = skipped
        return uttids, batch


class SkipFilteringIterator:
    """Iterate ``(utt_ids, batch)`` pairs, logging and removing skipped items.

    Args:
        iterable: a DataLoader built with :class:`SkipAwareCollateFn`.
        mode: label used in log messages (``train``, ``valid``, ...).

    Attributes:
        skipped: ``[(utt_id, reason), ...]`` seen so far.
        num_ok: utterances yielded so far.
    """

    def __init__(self, iterable, mode: str = "train"):
        self.iterable = iterable
        self.mode = mode
        self.skipped: List[Tuple[str, str]] = []
        self.num_ok = 0

    def __len__(self) -> int:
        return len(self.iterable)

    def __iter__(self) -> Iterator[Tuple[List[str], Dict[str, torch.Tensor]]]:
        for uttids, batch in self.iterable:
            for uid, reason in batch.pop(SKIPPED_KEY, []):
                logger.warning("[%s] skipping utterance %s: %s", self.mode, uid, reason)
                self.skipped.append((uid, reason))
            if len(uttids) == 0:
                continue
            self.num_ok += len(uttids)
            yield uttids, batch
        if self.skipped:
            logger.warning(
                "[%s] skipped %d of %d utterances",
                self.mode,
                len(self.skipped),
                len(self.skipped) + self.num_ok,
            )
            if self.num_ok == 0:
                uid, reason = self.skipped[0]
                raise RuntimeError(
                    f"[{self.mode}] every utterance failed to load or preprocess "
                    f"(first: {uid}: {reason}); check the data directory and the "
                    "preprocessor options"
                )


class SkipFilteringIterFactory(AbsIterFactory):
    """Wrap an ESPnet iterator factory so each epoch's iterator is a
    :class:`SkipFilteringIterator`."""

    def __init__(self, inner: AbsIterFactory, mode: str):
        self.inner = inner
        self.mode = mode

    def build_iter(self, epoch: int, shuffle: Optional[bool] = None):
        return SkipFilteringIterator(self.inner.build_iter(epoch, shuffle), self.mode)
