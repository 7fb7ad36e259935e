"""Reading Kaldi-style ``<utt_id> <text>`` files for scoring.

Both the reference (``data/<set>/text``) and ESPnet's decoding output
(``<decode dir>/1best_recog/text``) use one line per utterance: the id, one
space, the transcript.  ESPnet writes a bare id for an empty hypothesis, so a
line holding only an id is an utterance with empty text.
"""

from pathlib import Path
from typing import Dict, Union


class ScoringError(ValueError):
    """Bad scoring input; the message names the file, line or utterances."""


def read_text(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi ``text`` file into an ordered ``{utt_id: text}`` dict.

    Whitespace inside the text is normalised to single spaces; blank lines are
    skipped.

    Args:
        path: file with lines ``<utt_id>[ <text>]`` (UTF-8).

    Returns:
        Mapping in file order from utterance id to its (possibly empty) text.

    Raises:
        ScoringError: the file is missing, is not UTF-8, or repeats an id.
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such file")
    out: Dict[str, str] = {}
    try:
        with path.open("r", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split(maxsplit=1)
                if not fields:
                    continue
                utt = fields[0]
                text = " ".join(fields[1].split()) if len(fields) > 1 else ""
                if utt in out:
                    raise ScoringError(
                        f"{path}:{lineno}: utterance id {utt!r} appears twice"
                    )
                out[utt] = text
    except UnicodeDecodeError as e:
        raise ScoringError(f"{path}: not valid UTF-8 ({e})") from e
    return out


def read_utt2spk(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi ``utt2spk`` file.

    Args:
        path: file with lines ``<utt_id> <speaker>``.

    Returns:
        Mapping from utterance id to speaker id.

    Raises:
        ScoringError: the file is missing or a line lacks the speaker field.
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such file")
    out: Dict[str, str] = {}
    with path.open("r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ScoringError(
                    f"{path}:{lineno}: expected '<utt_id> <speaker>', got {line.strip()!r}"
                )
            out[fields[0]] = fields[1]
    return out
