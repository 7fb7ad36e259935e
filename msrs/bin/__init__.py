"""Command-line tools: ``python -m msrs.bin.<tool> --help``."""
