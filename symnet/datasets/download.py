"""Downloading a file with MD5 verification, atomically.

The bytes go to a hidden temporary file in the destination folder; only when the download is
complete and its checksum matches is it renamed (``os.replace``) to its final name, so a
partial or corrupt download never counts as cached.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request

from ..errors import NetError

CHUNK = 1 << 20


def md5_of(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, destination: str, md5: str | None, timeout: float = 30.0) -> str:
    """Fetch ``url`` to ``destination``; raise NetError (and keep nothing) if the MD5 differs.

    Network failures raise ``OSError`` (``urllib.error.URLError`` and friends) for the caller to
    put in context.
    """
    folder = os.path.dirname(os.path.abspath(destination))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(destination)}.", suffix=".partial", dir=folder)
    try:
        digest = hashlib.md5()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            expected_length = response.headers.get("Content-Length")
            received = 0
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
        if expected_length is not None and received != int(expected_length):
            raise OSError(f"the connection closed after {received} of {expected_length} bytes")
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise NetError(
                f'The download of {url} has the MD5 checksum {digest.hexdigest()} but {md5} was expected: the file is corrupt or not the official one, '
                "so it was deleted and nothing was cached. Try again, or check the base URL."
            )
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return destination


__all__ = ["download", "md5_of"]
