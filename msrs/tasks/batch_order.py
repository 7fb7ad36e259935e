"""Key order of the shape file that ESPnet's length-based batch samplers read.

ESPnet's ``length``, ``numel``, ``folded`` and ``sorted`` samplers sort the
utterances of the first ``--train_shape_file`` by length with a stable sort,
so utterances of equal length keep the file's key order.  Kaldi-style keys
are grouped by speaker and video lengths are frame counts at 25 fps, so ties
are everywhere: most batches then hold one or two speakers, for every epoch
(ESPnet fixes the batches once and only shuffles their order).  BatchNorm in
the video frontend then normalizes with one speaker's statistics in training
and with the running (all-speaker) statistics at test time, and each update
sees one face.  On the mini recipe this made VSR learn more slowly (dense VSR,
12 epochs, same seed: test WER 56 % with key order, 49 % with shuffled ties;
docs/models.md).

:func:`shuffled_shape_file` writes a copy of the shape file in a seeded random
key order; the stable sort then mixes speakers among equal lengths while the
batches stay length-homogeneous.  All ranks of a distributed job compute the
same permutation from the same seed, so they build identical batch lists.
"""

import os
import random
from pathlib import Path
from typing import List, Union

#: batch types whose batches depend on the key order among equal lengths
TIE_SENSITIVE_BATCH_TYPES = ("length", "numel", "folded", "sorted")


def shuffled_shape_file(
    shape_file: Union[str, Path], out_dir: Union[str, Path], seed: int, tag: str = "train"
) -> str:
    """Write ``shape_file``'s lines in a seeded random order; return the new path.

    Args:
        shape_file: ESPnet shape file (``<utt_id> <dim>[,<dim>...]`` per line).
        out_dir: folder for the copy (created); the copy is
            ``<out_dir>/<tag>_<shape file name>``, written atomically so that
            several ranks may write it at once.
        seed: permutation seed (the training ``--seed``).
        tag: prefix of the copy's name (``train``/``valid``).

    Raises:
        ValueError: the shape file is empty (names the file).
    """
    shape_file = Path(shape_file)
    lines: List[str] = [
        line if line.endswith("\n") else line + "\n"
        for line in shape_file.read_text().splitlines(keepends=True)
        if line.strip()
    ]
    if not lines:
        raise ValueError(f"{shape_file}: shape file is empty; rerun the statistics stage")
    random.Random(seed).shuffle(lines)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{tag}_{shape_file.name}"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, out)
    return str(out)
