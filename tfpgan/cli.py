"""Shared behaviour of the absl binaries: logging to the console and one-line user errors."""

from __future__ import annotations

import os
import sys
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, logging  # noqa: E402

from tfpgan.errors import TfpganError  # noqa: E402


def run(main: Callable[[list[str]], int | None]) -> None:
    """app.run(main), printing a TfpganError as `error: ...` (exit 2) instead of a traceback."""

    def guarded(argv: list[str]) -> int | None:
        logging.set_verbosity(logging.INFO)
        try:
            return main(argv)
        except TfpganError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    app.run(guarded)
