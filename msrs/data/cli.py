"""Small helpers shared by the data command-line tools."""

import argparse
import logging
import sys
from typing import Optional


def str2bool(value: str) -> bool:
    """``true/false/yes/no/1/0`` -> bool (argparse ``type``)."""
    v = str(value).strip().lower()
    if v in ("true", "yes", "1", "y", "t"):
        return True
    if v in ("false", "no", "0", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def setup_logging(level: str = "INFO") -> None:
    """ESPnet-like log format on stderr."""
    value = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(
        level=value,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(value)  # also when handlers already exist


def add_log_level(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    parser.add_argument(
        "--log_level",
        default=default,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level",
    )


def fail(message: str, code: int = 1) -> int:
    """Log an error and return the exit code (for ``sys.exit(main())``)."""
    logging.getLogger("msrs").error(message)
    return code


def csv_tuple(value: Optional[str]):
    """``"a,b"`` -> ``("a", "b")``."""
    return tuple(x.strip() for x in str(value).split(",") if x.strip())
