"""Atomic output folders: build in a hidden temporary sibling folder, then rename into place.

The temporary folder `.NAME.tmp-XXXXXXXX` is locked (flock) while its build runs; one left behind by a killed
build holds no lock and is removed the next time NAME is written. An existing NAME is replaced only with
overwrite=True and, when the caller gives a `foreign` check, only if that check finds nothing tfpgan did not
write. Both rules are checked again at the final rename, which never replaces a folder that appeared meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable

from tfpgan.errors import TfpganError

logger = logging.getLogger(__name__)

# foreign(path) -> why `path` is not a folder tfpgan wrote ("" when it is one).
ForeignCheck = Callable[[str], str]


def default_permissions(path: str) -> None:
    """Give a mkdtemp/mkstemp result the permissions a normal open()/mkdir() would (0777/0666 minus umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def check_writable_destination(path: str, overwrite: bool, foreign: ForeignCheck | None = None) -> None:
    """Fail if `path` exists and may not be replaced: without overwrite, or when `foreign` finds a reason."""
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise TfpganError(f"{path} already exists (pass --overwrite to replace it)")
    reason = foreign(path) if foreign is not None else ""
    if reason:
        raise TfpganError(f"{path} is not a folder tfpgan wrote ({reason}): --overwrite does not replace it; "
                          "remove or rename it yourself")


def _temporary_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


def _try_lock(descriptor: int) -> bool:
    """Take an exclusive flock without waiting; False if another open file holds one (or locks fail)."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def sweep_stale(path: str) -> None:
    """Remove the unlocked temporary folders of `path` that killed builds left behind."""
    parent, prefix = os.path.dirname(path), _temporary_prefix(path)
    pattern = re.compile(re.escape(prefix) + r"[^.]+")
    for name in sorted(os.listdir(parent)):
        stale = os.path.join(parent, name)
        if not pattern.fullmatch(name) or os.path.islink(stale) or not os.path.isdir(stale):
            continue
        descriptor = os.open(stale, os.O_RDONLY)
        try:
            if _try_lock(descriptor):
                logger.warning("removing %s, left behind by an interrupted run", stale)
                shutil.rmtree(stale)
        finally:
            os.close(descriptor)


def _rename_to_new(source: str, path: str) -> None:
    """Rename the folder `source` to `path`, which must not exist: mkdir claims the name atomically, and the
    rename replaces only that empty folder (it fails if anything was written into it)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        raise TfpganError(f"{path} appeared while this run was writing it; it was left as it is (run again with "
                          "--overwrite to replace it)") from None
    os.rename(source, path)


def _publish(temporary: str, path: str, overwrite: bool, foreign: ForeignCheck | None) -> None:
    """Move the finished `temporary` to `path`, checking the rules on an existing `path` again."""
    backup = None
    if overwrite and os.path.lexists(path):
        check_writable_destination(path, overwrite, foreign)
        backup = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=os.path.dirname(path))
        os.rename(path, os.path.join(backup, "old"))
    _rename_to_new(temporary, path)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str, overwrite: bool = False, foreign: ForeignCheck | None = None):
    """Yield a temporary folder; on success it replaces `path`, on any error it is deleted.

    An interrupted or failed write leaves `path` as it was (absent or the old content). foreign: see
    `check_writable_destination`.
    """
    path = os.path.abspath(path)
    check_writable_destination(path, overwrite, foreign)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sweep_stale(path)
    temporary = tempfile.mkdtemp(prefix=_temporary_prefix(path), dir=os.path.dirname(path))
    default_permissions(temporary)
    lock = os.open(temporary, os.O_RDONLY)
    _try_lock(lock)  # a new folder: fails only where the file system has no locks (then nothing is swept)
    try:
        yield temporary
        _publish(temporary, path, overwrite, foreign)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    finally:
        os.close(lock)


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
