"""Where received files land: safe names, and files that appear whole or not at all.

A file name in an offer comes from another member, so it is untrusted input.
:func:`sanitise_name` turns any string into one plain file name that stays inside the downloads
folder: directories are stripped (``/`` and ``\\``), control and other non-printable characters
and the characters Windows forbids become ``_``, leading dots and spaces go (no hidden files, no
``..``), trailing dots and spaces go, reserved device names (``CON``, ``NUL``, ``COM1``...) get a
``_`` in front, and the result is cut to :data:`MAX_NAME_BYTES` of UTF-8.

A file being received is a :class:`PartialFile`: a hidden temporary file in the downloads folder,
created with ``O_EXCL`` (never someone else's file, never through a symbolic link) and mode 0600.
:meth:`PartialFile.commit` gives it its final name only once the caller has checked it, without
ever replacing an existing file (``name (1).ext``, ``name (2).ext``...); :meth:`PartialFile.discard`
deletes it. Either way no partial file is left behind under a real name.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from chat.transfer.errors import DownloadError
from ciphers.rng import RNG, SYSTEM

MAX_NAME_BYTES = 200  # leaves room for " (999)" within the usual 255-byte limit of file systems
MAX_EXTENSION = 16  # characters of an extension kept whole when a long name is cut
MAX_COPIES = 999
FALLBACK_NAME = "download"
PART_PREFIX = ".cipherchat-"
PART_SUFFIX = ".part"
STALE_AFTER = 3600.0  # seconds: a partial file untouched this long belongs to a transfer that died

_SEPARATORS = re.compile(r"[/\\]")
_FORBIDDEN = frozenset('<>:"|?*')  # what Windows refuses besides the separators and controls
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)
_DOUBLE_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
_PART_NAME = re.compile(re.escape(PART_PREFIX) + r"[0-9a-f]{32}" + re.escape(PART_SUFFIX))


def default_downloads_dir() -> Path:
    """``~/Downloads/cipherchat``: where received files go unless the user says otherwise."""
    return Path.home() / "Downloads" / "cipherchat"


# --- names --------------------------------------------------------------------------------------


def sanitise_name(name: str) -> str:
    """One plain, printable file name from an untrusted ``name`` (see the module notes).

    Never empty, never ``.`` or ``..``, never hidden, no separator: joined to a folder it names a
    file directly inside it. Applying it twice changes nothing.
    """
    base = _SEPARATORS.split(name)[-1]
    cleaned = "".join("_" if ch in _FORBIDDEN or not ch.isprintable() else ch for ch in base)
    cleaned = cleaned.lstrip(" .").rstrip(" .")
    if not cleaned:
        return FALLBACK_NAME
    if cleaned.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        cleaned = "_" + cleaned
    cleaned = _truncate(cleaned, MAX_NAME_BYTES).rstrip(" .")
    return cleaned or FALLBACK_NAME


def split_extension(name: str) -> tuple[str, str]:
    """(stem, extension) with the extension's dot; ``.tar.gz`` and its kin count as one extension."""
    lowered = name.lower()
    for double in _DOUBLE_EXTENSIONS:
        if lowered.endswith(double) and len(name) > len(double):
            return name[: -len(double)], name[-len(double) :]
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > MAX_EXTENSION:
        return name, ""
    return name[:dot], name[dot:]


def _truncate(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` bytes of UTF-8 at a character boundary, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, extension = split_extension(name)
    room = limit - len(extension.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return cut + extension


def candidate_names(name: str, copies: int = MAX_COPIES) -> Iterator[str]:
    """``name``, then ``stem (1).ext`` up to ``stem (copies).ext``: the names tried, in order."""
    yield name
    stem, extension = split_extension(name)
    for number in range(1, copies + 1):
        yield f"{stem} ({number}){extension}"


def format_size(size: int) -> str:
    """A size for people: ``512 bytes``, ``1.5 KiB``, ``50 MiB``."""
    if size < 1024:
        return f"{size} byte" + ("" if size == 1 else "s")
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    raise AssertionError("unreachable")  # pragma: no cover


# --- files --------------------------------------------------------------------------------------


def prepare_directory(directory: str | os.PathLike[str]) -> Path:
    """Create the downloads folder if needed (mode 0700); DownloadError in one line if impossible."""
    path = Path(directory).expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the downloads folder {path}: {os_reason(exc)}") from None
    if not path.is_dir():
        raise DownloadError(f"the downloads folder {path} is not a folder")
    return path


def sweep_stale(directory: Path, older_than: float = STALE_AFTER, *, now: float | None = None) -> int:
    """Delete our partial files untouched for ``older_than`` seconds (a crashed run's); how many."""
    moment = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not _PART_NAME.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and moment - entry.stat().st_mtime > older_than:
                os.unlink(entry.path)
                removed += 1
    return removed


class PartialFile:
    """A received file in progress: a hidden ``.part`` file in the downloads folder (module notes)."""

    def __init__(self, directory: Path, path: Path, fd: int) -> None:
        self.directory = directory
        self.path = path
        self.size = 0
        self._fd: int | None = fd

    @classmethod
    def create(cls, directory: Path, *, rng: RNG = SYSTEM, attempts: int = 8) -> PartialFile:
        """A new empty partial file in ``directory``; DownloadError if it cannot be created."""
        flags = (
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        )
        problem = "no free temporary name"
        for _ in range(attempts):
            path = directory / f"{PART_PREFIX}{rng.bytes(16).hex()}{PART_SUFFIX}"
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                problem = os_reason(exc)
                break
            return cls(directory, path, fd)
        raise DownloadError(f"cannot write to the downloads folder {directory}: {problem}")

    @property
    def open(self) -> bool:
        """Whether the file is still being written."""
        return self._fd is not None

    def write(self, data: bytes) -> None:
        """Append ``data``; DownloadError (after discarding the file) if the disk refuses."""
        if self._fd is None:
            raise DownloadError("the partial file is already closed")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            self.discard()
            raise DownloadError(f"cannot write {self.path.name}: {os_reason(exc)}") from None
        self.size += len(data)

    def commit(self, name: str) -> Path:
        """Flush, close, and give the file ``name`` (sanitised) or the first free ``name (n)`` variant.

        Never replaces an existing file. DownloadError (and the partial file deleted) on failure.
        """
        if self._fd is None:
            raise DownloadError("the partial file is already closed")
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        except OSError as exc:
            self._unlink()
            raise DownloadError(f"cannot save {name}: {os_reason(exc)}") from None
        finally:
            os.close(fd)
        try:
            for candidate in candidate_names(sanitise_name(name)):
                target = self.directory / candidate
                if self._place(target):
                    return target
        except OSError as exc:
            raise DownloadError(f"cannot save {name}: {os_reason(exc)}") from None
        finally:
            self._unlink()
        raise DownloadError(f"cannot save {name}: {MAX_COPIES} copies of it exist already")

    def _place(self, target: Path) -> bool:
        """Give the partial file the name ``target`` unless it exists (atomic); whether it did."""
        try:
            os.link(self.path, target, follow_symlinks=False)
            return True
        except FileExistsError:
            return False
        except OSError:
            pass  # no hard links here (some file systems): reserve the name, then replace it
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            os.close(os.open(target, flags, 0o600))
        except FileExistsError:
            return False
        try:
            os.replace(self.path, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise
        return True

    def discard(self) -> None:
        """Close and delete the partial file. Safe to call more than once."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._unlink()

    def _unlink(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def os_reason(exc: OSError) -> str:
    """What the system said about ``exc``, in lower case (``no space left on device``)."""
    return (os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__).lower()


__all__ = [
    "FALLBACK_NAME",
    "MAX_NAME_BYTES",
    "PartialFile",
    "candidate_names",
    "default_downloads_dir",
    "format_size",
    "os_reason",
    "prepare_directory",
    "sanitise_name",
    "split_extension",
    "sweep_stale",
]
