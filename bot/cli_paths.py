"""The CLI's own files: ``--image`` inputs and the ``--out`` folder, checked before anything is sent.

Usage::

    check_out_dir(Path("out"))                      # InvalidRequest unless easel can write there
    data = read_image_file("image", Path("in.png"), max_bytes=limits.max_input_bytes)

Both run before the backend is called, so a wrong path spends nothing at the provider. Only
regular files are read (a FIFO or a device would block or never end), and every read is
bounded: one byte past the limit is enough for :mod:`services.images` to refuse the size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from services.data_dir import StorageUnusable, ensure_writable_dir
from services.errors import InvalidRequest

__all__ = ["check_out_dir", "read_image_file"]


def check_out_dir(out_dir: Path) -> None:
    """Prove ``out_dir`` is (or can become) a folder easel can write, creating nothing that stays.

    An existing folder gets a probe file (removed); a missing one is probed in its nearest
    existing parent, where the sink will create it once there are images to write.
    """
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidRequest(f"--out {out_dir} is not a folder; give a folder for the images")
        parent = out_dir.absolute()
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise InvalidRequest(f"--out {out_dir}: {parent} is not a folder; give a folder for the images")
        try:
            ensure_writable_dir(parent, what="--out")
        except StorageUnusable:
            raise InvalidRequest(
                f"--out {out_dir} is not writable (Permission denied or read-only): easel needs to "
                f"create and write files in {parent}; choose another --out"
            ) from None
    except OSError as exc:  # a parent we may not even look into
        raise InvalidRequest(f"can't use --out {out_dir}: {exc.strerror or exc}") from None
    except StorageUnusable as exc:
        raise InvalidRequest(str(exc)) from None


def read_image_file(option: str, path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of the regular file ``path``; anything else is refused."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidRequest(f"can't read --{option} {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InvalidRequest(
                f"--{option} {path} is {_kind(mode)}, not a regular file; give an image file"
            )
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(max_bytes + 1)  # the size check itself lives in services.images
    except OSError as exc:
        raise InvalidRequest(f"can't read --{option} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
