"""Shared behaviour of the absl binaries: a quiet TensorFlow start-up, console logging and one-line errors.

Import this module before anything that imports TensorFlow. Unless the user set TF_CPP_MIN_LOG_LEVEL or passed
--verbosity >= 1 (-v 1), it sets TF_CPP_MIN_LOG_LEVEL=3 and, whenever TensorFlow is first imported (tools import
it late, after their flag checks), captures stderr during that import and drops the C++ log lines TensorFlow
prints while it loads (CUDA probing, the oneDNN notice, absl's "All log messages before absl::InitializeLog()"):
those ignore TF_CPP_MIN_LOG_LEVEL. Anything else printed then is passed on.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.abc
import importlib.util
import logging as std_logging
import os
import re
import sys
import tempfile
from typing import Callable

from absl import app, flags, logging

from tfpgan.errors import TfpganError

HELP_FLAGS = ("help", "?", "helpshort", "helpfull", "helpxml")
NOISE = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "  # a C++ log line (absl or glog format)
                   r"|WARNING: All log messages before absl::InitializeLog")
DISK_FULL = "No space left on device"


def _flag_value(argv: list[str], names: tuple[str, ...]) -> str | None:
    """The value of the last `--name=value`, `--name value` or `-name value` in argv (None when absent)."""
    value = None
    for position, argument in enumerate(argv[1:], start=1):
        if argument == "--":
            break
        name, separator, text = argument.lstrip("-").partition("=")
        if argument.startswith("-") and name in names:
            value = text if separator else (argv[position + 1] if position + 1 < len(argv) else "")
    return value


def requested_verbosity(argv: list[str]) -> int:
    """absl's --verbosity (-v) on the command line: 0 when absent or not a number."""
    text = _flag_value(argv, ("v", "verbosity"))
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


@contextlib.contextmanager
def _stderr_without_noise():
    """Capture file descriptor 2; afterwards pass on what is not a C++ log line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not NOISE.match(line)))


class _QuietImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs the first import of `tensorflow` (whoever asks for it) inside `_stderr_without_noise`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None:
            self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        with _stderr_without_noise():
            self.loader.exec_module(module)


def quiet_tensorflow(argv: list[str]) -> None:
    """Hide TensorFlow's C++ start-up lines unless TF_CPP_MIN_LOG_LEVEL is set or --verbosity >= 1."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or requested_verbosity(argv) >= 1:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _QuietImport())


quiet_tensorflow(sys.argv)


def disk_full(error: BaseException) -> BaseException | None:
    """The error in `error`'s chain (causes and contexts) that says the disk is full, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or DISK_FULL in str(error):
            return error
        error = error.__cause__ or error.__context__
    return None


def disk_full_message(full: BaseException) -> str:
    """One line for a full disk: which file (or what the error said), and what to do."""
    filename = getattr(full, "filename", None)
    lines = str(full).strip().splitlines()
    where = f"while writing {filename}" if filename else f"({lines[0] if lines else DISK_FULL})"
    return f"disk full {where}: free space and run the same command again"


def _parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, but a wrong flag is one `error: ...` line (exit 2) and --help (--helpfull, ...) exits 0."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        print(f"error: {error} (see --helpshort)", file=sys.stderr)
        raise SystemExit(2) from None
    except SystemExit as exit:
        if exit.code == 1 and _flag_value(argv, HELP_FLAGS) not in (None, "false", "0"):
            raise SystemExit(0) from None
        raise


def run(main: Callable[[list[str]], int | None]) -> None:
    """app.run(main), printing a TfpganError or a full disk as `error: ...` (exit 2) instead of a traceback."""

    def guarded(argv: list[str]) -> int | None:
        if not flags.FLAGS["verbosity"].present:  # tfpgan's INFO lines; TensorFlow's own (savers, export) hidden
            logging.set_verbosity(logging.WARNING)
            for ours in ("tfpgan", "tools", "__main__"):
                std_logging.getLogger(ours).setLevel(std_logging.INFO)
        try:
            return main(argv)
        except Exception as error:
            full = disk_full(error)
            if full is not None:
                print(f"error: {disk_full_message(full)}", file=sys.stderr)
                return 2
            if not isinstance(error, TfpganError):
                raise
            print(f"error: {error}", file=sys.stderr)
            return 2

    app.run(guarded, flags_parser=_parse_flags)
