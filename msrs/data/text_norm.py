"""Transcript normalisation with options, for corpora of any language.

:func:`msrs.data.lrs3.normalize_text` is the LRS3 rule (upper case, accents
folded, only ``[A-Z0-9']``); it deletes the letters of most languages.  Here
the same steps are options (:class:`TextNorm`):

- ``case``: ``upper`` (default, as LRS3), ``lower`` or ``keep``;
- ``punctuation``: ``remove`` (default: every Unicode punctuation or symbol
  character becomes a word break; an apostrophe inside a word stays, as in
  ``DON'T``) or ``keep``;
- ``letters``: ``keep`` (default: letters, digits and combining marks of any
  script stay -- ``é``, ``ß``, ``ж``, Devanagari vowel signs) or ``ascii``
  (the LRS3 rule: accents folded, other characters become word breaks);
- ``{...}`` tags (LRS3's ``{LG}``) are removed, white space is collapsed and
  the text is put in Unicode NFC form (one code point per accented letter,
  so the same word is always the same tokens).
"""

import re
import unicodedata
from dataclasses import dataclass

from msrs.data.lrs3 import normalize_text as lrs3_normalize

_TAG = re.compile(r"\{[^{}]*\}")
_APOSTROPHES = {"\u2019": "'", "\u02bc": "'", "`": "'"}
CASES = ("upper", "lower", "keep")
PUNCTUATION = ("remove", "keep")
LETTERS = ("keep", "ascii")


@dataclass(frozen=True)
class TextNorm:
    """Normalisation options (module doc)."""

    case: str = "upper"
    punctuation: str = "remove"
    letters: str = "keep"

    def __post_init__(self):
        for name, allowed in (("case", CASES), ("punctuation", PUNCTUATION), ("letters", LETTERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")

    def __call__(self, text: str) -> str:
        """The normalised transcript (may be empty)."""
        if self.letters == "ascii" and self.punctuation == "remove":
            out = lrs3_normalize(text)  # the LRS3 rule exactly
            return out.lower() if self.case == "lower" else out
        text = unicodedata.normalize("NFC", _TAG.sub(" ", text))
        for a, b in _APOSTROPHES.items():
            text = text.replace(a, b)
        if self.letters == "ascii":
            text = unicodedata.normalize("NFKD", text)
            text = "".join(c for c in text if not unicodedata.combining(c))
            text = "".join(c if c.isascii() else " " for c in text)
        if self.punctuation == "remove":
            text = "".join(" " if _is_break(c) else c for c in text)
            words = [w.strip("'") for w in text.split()]
        else:
            words = text.split()
        text = " ".join(w for w in words if w)
        if self.case == "upper":
            text = text.upper()
        elif self.case == "lower":
            text = text.lower()
        return text


def _is_break(c: str) -> bool:
    """Punctuation and symbols break words; the apostrophe is kept (stripped at word ends)."""
    if c == "'":
        return False
    return unicodedata.category(c)[0] in ("P", "S")
