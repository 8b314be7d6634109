"""Downloading a file with MD5 or SHA-256 verification, atomically, within a deadline.

The bytes go to a hidden temporary file (``.name.XXXX.partial``) in the destination folder;
only when the download is complete and its checksum matches is it renamed (``os.replace``) to
its final name, so a partial or corrupt download never counts as cached. The downloader holds
an exclusive lock on its partial file: a partial that nobody holds belongs to a download that
was killed, and the next attempt deletes it.

Three limits keep a bad server from holding a download forever: ``timeout`` for any one read,
``deadline`` for the whole transfer and ``minimum_rate`` (bytes per second, averaged from the
start once ``rate_grace`` seconds have passed). Their defaults are the module's ``TIMEOUT``,
``DEADLINE``, ``MINIMUM_RATE`` and ``RATE_GRACE``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import time
import urllib.request

from ..errors import NetError

try:  # POSIX: a lock tells a live download's partial file from a dead one's
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

CHUNK = 1 << 20
TIMEOUT = 30.0
DEADLINE = 3600.0
MINIMUM_RATE = 1024.0
RATE_GRACE = 60.0
# Without a lock (Windows) a partial file untouched this long is taken as abandoned.
STALE_AFTER = 3600.0


class DownloadError(OSError):
    """A transfer that failed or was given up (the caller adds which dataset and what to do)."""


def md5_of(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, destination: str, md5: str | None, timeout: float | None = None, *, deadline: float | None = None,
             minimum_rate: float | None = None, rate_grace: float | None = None, sha256: str | None = None) -> str:
    """Fetch ``url`` to ``destination``; raise NetError (and keep nothing) if the MD5 or SHA-256 differs.

    Network failures, a malformed ``Content-Length``, a transfer past ``deadline`` seconds or
    slower than ``minimum_rate`` bytes per second raise ``OSError`` (:class:`DownloadError`,
    ``urllib.error.URLError`` and friends) for the caller to put in context.
    """
    timeout = TIMEOUT if timeout is None else timeout
    deadline = DEADLINE if deadline is None else deadline
    minimum_rate = MINIMUM_RATE if minimum_rate is None else minimum_rate
    rate_grace = RATE_GRACE if rate_grace is None else rate_grace
    folder = os.path.dirname(os.path.abspath(destination))
    os.makedirs(folder, exist_ok=True)
    remove_stale_partials(destination)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(destination)}.", suffix=".partial", dir=folder)
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        expected = {name: value.lower() for name, value in (("MD5", md5), ("SHA-256", sha256)) if value is not None}
        digests = {name: hashlib.md5() if name == "MD5" else hashlib.sha256() for name in expected}
        started = time.monotonic()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            expected_length = _content_length(response.headers.get("Content-Length"), url)
            received = 0
            # read1 returns what one read of the socket gives, so the limits are checked between
            # the bytes of a server that drips them (read(CHUNK) would wait for a whole chunk).
            while chunk := response.read1(CHUNK):
                for digest in digests.values():
                    digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
                _check_progress(url, received, time.monotonic() - started, deadline, minimum_rate, rate_grace)
        if expected_length is not None and received != expected_length:
            raise DownloadError(f"the connection closed after {received} of {expected_length} bytes")
        for name, digest in digests.items():
            if digest.hexdigest() != expected[name]:
                raise NetError(
                    f'The download of {url} has the {name} checksum {digest.hexdigest()} but {expected[name]} was expected: the file is corrupt or not the official one, '
                    "so it was deleted and nothing was cached. Try again, or check the base URL."
                )
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return destination


def _content_length(header: str | None, url: str) -> int | None:
    if header is None:
        return None
    text = header.strip()
    if not text.isdigit() or not text.isascii():
        raise DownloadError(f"the server sent a malformed Content-Length header {header!r} (expected a number of bytes)")
    return int(text)


def _check_progress(url: str, received: int, elapsed: float, deadline: float, minimum_rate: float, rate_grace: float) -> None:
    if elapsed > deadline:
        raise DownloadError(f"gave up after {elapsed:.0f} s (the deadline is {deadline:g} s) with {received} bytes received")
    if elapsed > rate_grace and received / elapsed < minimum_rate:
        raise DownloadError(f"the transfer is too slow: {received / elapsed:.1f} bytes/s after {elapsed:.0f} s, below the minimum of {minimum_rate:g} bytes/s")


def remove_stale_partials(destination: str) -> list[str]:
    """Delete the ``.partial`` files that killed downloads of ``destination`` left; return their paths.

    A partial file whose lock can be taken has no living downloader. Where there are no locks,
    a partial file untouched for ``STALE_AFTER`` seconds is taken as abandoned.
    """
    folder, name = os.path.split(os.path.abspath(destination))
    removed = []
    for path in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.partial")):
        try:
            if fcntl is None:
                if time.time() - os.path.getmtime(path) > STALE_AFTER:
                    os.unlink(path)
                    removed.append(path)
                continue
            with open(path, "rb") as file:
                try:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another process is downloading into it right now
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:
            continue  # its owner finished or cleaned it meanwhile
    return removed


__all__ = ["DEADLINE", "MINIMUM_RATE", "DownloadError", "download", "md5_of", "remove_stale_partials"]
