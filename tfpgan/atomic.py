"""Atomic output folders: build in a temporary sibling folder, then rename into place."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from tfpgan.errors import TfpganError


def default_permissions(path: str) -> None:
    """Give a mkdtemp/mkstemp result the permissions a normal open()/mkdir() would (0777/0666 minus umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def check_writable_destination(path: str, overwrite: bool) -> None:
    """Fail early if `path` exists and may not be replaced."""
    if os.path.exists(path) and not overwrite:
        raise TfpganError(f"{path} already exists (pass --overwrite to replace it)")


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False):
    """Yield a temporary folder; on success it replaces `path`, on any error it is deleted.

    An interrupted or failed write leaves `path` as it was (absent or the old content).
    """
    path = os.path.abspath(path)
    check_writable_destination(path, overwrite)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    default_permissions(temporary)
    try:
        yield temporary
        if os.path.exists(path):
            backup = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.rename(path, os.path.join(backup, "old"))
            os.rename(temporary, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.rename(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(path: str, suffix: str = ""):
    """Yield a temporary path beside `path`; on success it gets normal permissions and replaces `path`,
    on any error it is deleted, so `path` is never half-written. `suffix` keeps writers that pick the
    format from the extension (matplotlib, Keras) working."""
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=suffix or ".tmp",
                                         dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        yield temporary
        default_permissions(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_json(path: str, content) -> None:
    """Write JSON atomically (temporary file + rename)."""
    write_text(path, json.dumps(content, indent=2) + "\n")


def write_text(path: str, text: str) -> None:
    """Write a text file atomically (temporary file + rename)."""
    with atomic_file(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
