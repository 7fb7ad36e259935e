"""Utterance counts per data set for RESULTS.md: how many survived each stage.

A recipe directory holds ``data/<set>/text`` (stage 1, the full set),
``dump/raw/<set>/{text,failures.txt}`` (stage 2: extracted / failed) and
``dump/<set>/text`` (stage 3: after length and empty-text filtering).
Test utterances missing from the dump are still scored (as deletions,
against ``data/<set>/text``); training and validation utterances are simply
not used, and this table says how many.
"""

from pathlib import Path
from typing import List, Optional, Union


def _lines(path: Path) -> Optional[int]:
    try:
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return None


def data_counts_table(root: Union[str, Path], dumpdir: str = "dump") -> List[str]:
    """Markdown lines of ``| set | data | extracted | failed | after filtering |``.

    Args:
        root: recipe directory (holding ``data/`` and ``<dumpdir>/``).
        dumpdir: dump directory name under ``root``.

    Returns:
        ``[]`` when ``root/data`` has no set with a ``text`` file.
    """
    root = Path(root)
    sets = sorted(p.parent.name for p in (root / "data").glob("*/text"))
    if not sets:
        return []
    rows = ["| set | utterances (data/) | extracted | failed extraction | after filtering |",
            "|---|---:|---:|---:|---:|"]
    for s in sets:
        cells = [
            _lines(root / "data" / s / "text"),
            _lines(root / dumpdir / "raw" / s / "text"),
            _lines(root / dumpdir / "raw" / s / "failures.txt"),
            _lines(root / dumpdir / s / "text"),
        ]
        rows.append(f"| {s} | " + " | ".join("–" if c is None else str(c) for c in cells) + " |")
    return rows
