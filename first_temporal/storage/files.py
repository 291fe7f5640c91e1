"""Byte-level file work of the local tables: atomic replaces, appends of staged parts in
the kernel, and finding a date in an append-ordered table without reading it."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import numpy as np

from first_temporal.domain import schema

COPY_BUFFER = 8 << 20
HASH_BUFFER = 256 << 10
LINE_PROBE = 4096  # longer than any table line
NEWLINE = ord("\n")
# copy_file_range refuses some pairs of files (another filesystem, an old kernel): those
# are copied through user space; any other error (a full disk) is the copy's own.
NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}
_OS_ERROR = re.compile(r"\(os error (\d+)\)")


@contextmanager
def about(path: Path | str) -> Iterator[None]:
    """Name `path` in the OSErrors of the block: a write or fsync through a descriptor,
    or polars' writers (which give only "(os error 28)"), do not say which file failed."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        code = exc.errno
        if code is None and (found := _OS_ERROR.search(str(exc))):
            code = int(found[1])
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


@contextmanager
def temporary(path: Path) -> Iterator[Path]:
    """A temporary beside `path` that is gone if the block fails: a full disk must not
    also keep the half-written bytes that filled it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with about(path):
            yield tmp
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, whole."""
    with temporary(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_at(fh: BinaryIO, at: int, parts: list[Path]) -> int:
    """Put the staged `parts` at byte `at` of an open table, cutting what followed, and
    fsync. Returns the new end."""
    fd = fh.fileno()
    with about(fh.name):
        fh.truncate(at)
        fh.seek(at)
        for part in parts:
            start = os.lseek(fd, 0, os.SEEK_CUR)
            copy_into(part, fd)
            start_writeback(fd, start, os.lseek(fd, 0, os.SEEK_CUR) - start)
        os.fsync(fd)
        return os.lseek(fd, 0, os.SEEK_END)


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # not Linux
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


_SYNC_FILE_RANGE = _sync_file_range()
SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writing the dirty pages, do not wait


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing bytes just appended while the next part is copied, so
    the fsync after the last one waits for that part alone (a bulk day's purchases: 65 ms
    of waiting on 118 MB otherwise). Only a hint, where Linux's sync_file_range exists:
    the fsync is what makes the bytes durable."""
    if _SYNC_FILE_RANGE is not None and length > 0:
        _SYNC_FILE_RANGE(fd, offset, length, SYNC_FILE_RANGE_WRITE)


def line_start(fh: BinaryIO, position: int, floor: int = 0) -> int:
    """Where the line holding byte `position` starts (just past the line break before it),
    reading back from `position` no further than `floor` (`floor` when none is found)."""
    while position > floor:
        back = max(floor, position - LINE_PROBE)
        fh.seek(back)
        cut = fh.read(position - back).rfind(b"\n")
        if cut >= 0:
            return back + cut + 1
        position = back
    return floor


def first_line_since(fh: BinaryIO, low: int, high: int, since: str) -> int:
    """Byte offset of the first purchase line in [low, high) bought on or after `since`
    (high when none): a binary search, since purchases are appended in date order, so
    finding the window costs a few reads whatever the table's size."""
    column = schema.COLUMNS[schema.PURCHASE].index("purchase_date")
    floor = low

    def bought_since(position: int) -> bool:
        fh.seek(line_start(fh, position, floor))
        line = fh.read(LINE_PROBE).split(b"\n", 1)[0].decode("utf-8", "replace")
        return line.split(",")[column] >= since

    while low < high:  # the first byte whose line was bought since: always a line start
        middle = (low + high) // 2
        if bought_since(middle):
            high = middle
        else:
            low = middle + 1
    return low


def copy_into(source: Path, fd: int) -> None:
    """Append a staged file at fd's position, in the kernel where it can (copy_file_range)."""
    with open(source, "rb") as src:
        copy_range(src.fileno(), 0, os.fstat(src.fileno()).st_size, fd)


def copy_range(src: int, start: int, end: int, fd: int) -> None:
    """Write the bytes [start, end) of src at fd's position, in the kernel where it can."""
    position = start
    try:
        while position < end:
            copied = os.copy_file_range(src, fd, end - position, position)
            if copied == 0:
                break
            position += copied
    except OSError as exc:
        if exc.errno not in NO_KERNEL_COPY:
            raise
    while position < end:  # refused by the kernel, or the source is shorter than `end`
        piece = os.pread(src, min(COPY_BUFFER, end - position), position)
        if not piece:
            raise OSError(errno.EIO, f"ends at byte {position}, before byte {end}")
        view = memoryview(piece)
        while view:
            view = view[os.write(fd, view) :]
        position += len(piece)


def day_digests(fh: BinaryIO, start: int, end: int, lines: list[int]) -> list[tuple[int, str]]:
    """Split the bytes [start, end) of a table into runs of `lines` lines (one run per
    batch date) and return each run's end and SHA-256: the ledger's record of a commit."""
    if len(lines) == 1:  # one date, one run: no line to find (a bulk day's 100s of MB)
        return [(end, _sha256_of(fh, start, end))]
    fh.seek(start)
    data = fh.read(end - start)  # spans only: many dates, a few MB at most
    return [(start + high, hashed) for high, hashed in runs_of(data, lines)]


def runs_of(data: bytes, lines: list[int]) -> list[tuple[int, str]]:
    """Each run of `lines` lines of `data`: where it ends and its SHA-256."""
    if len(lines) == 1:
        return [(len(data), hashlib.sha256(data).hexdigest())]
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == NEWLINE) + 1
    ends = np.concatenate([[0], breaks])[np.cumsum(lines)]
    runs, low = [], 0
    for high in ends.tolist():
        runs.append((high, hashlib.sha256(data[low:high]).hexdigest()))
        low = high
    return runs


def _sha256_of(fh: BinaryIO, start: int, end: int) -> str:
    hashed = hashlib.sha256()
    _feed(hashed.update, fh, start, end)
    return hashed.hexdigest()


def sha256_of_parts(parts: list[Path]) -> str:
    """The digest of the parts' bytes one after another: what write_at puts in a table."""
    hashed = hashlib.sha256()
    for part in parts:
        with open(part, "rb") as fh:
            _feed(hashed.update, fh, 0, os.fstat(fh.fileno()).st_size)
    return hashed.hexdigest()


def _feed(update: Callable[[memoryview], object], fh: BinaryIO, start: int, end: int) -> None:
    """Through one small buffer: a bulk day's four tables are hashed side by side, and
    fresh multi-MB reads in four threads left ~100 MB in the allocator's arenas."""
    buffer = memoryview(bytearray(HASH_BUFFER))
    fh.seek(start)
    remaining = end - start
    while remaining > 0:
        read = fh.readinto(buffer[: min(HASH_BUFFER, remaining)])  # type: ignore[attr-defined]
        if not read:
            raise OSError(f"{fh.name}: ends before byte {end}")
        update(buffer[:read])
        remaining -= read
