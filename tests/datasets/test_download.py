"""download(): hostile and broken servers on 127.0.0.1 (issue 9.7); every test is bounded in time."""

import dataclasses
import hashlib
import http.server
import os
import subprocess
import sys
import time

import pytest

from symnet import NetError
from symnet.datasets import mnist
from symnet.datasets.download import DownloadError, download, remove_stale_partials

download_module = sys.modules["symnet.datasets.download"]

PAYLOAD = bytes(range(256)) * 40


class Handler(http.server.BaseHTTPRequestHandler):
    """/good: the payload; /badlength: Content-Length 12abc; /drip: one byte every `drip` s."""

    drip = 0.2

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path.startswith("/badlength"):
            self.send_header("Content-Length", "12abc")
            self.end_headers()
            self.wfile.write(b"123456789012")
        elif self.path.startswith("/drip"):
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            try:
                for byte in PAYLOAD:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(self.drip)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
        else:
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)


@pytest.fixture
def url(serve_http):
    return serve_http(Handler)


def partials(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".partial"))


def test_a_good_download_is_verified_and_kept(url, tmp_path):
    target = tmp_path / "file.bin"
    download(f"{url}/good", str(target), hashlib.md5(PAYLOAD).hexdigest())
    assert target.read_bytes() == PAYLOAD and partials(tmp_path) == []


def test_a_malformed_content_length_is_a_download_error(url, tmp_path):
    with pytest.raises(DownloadError, match=r"malformed Content-Length header '12abc' \(expected a number of bytes\)"):
        download(f"{url}/badlength", str(tmp_path / "file.bin"), None)
    assert os.listdir(tmp_path) == []


def test_a_dripping_server_meets_the_deadline(url, tmp_path):
    with pytest.raises(DownloadError, match=r"gave up after \d+ s \(the deadline is 0.5 s\)"):
        download(f"{url}/drip", str(tmp_path / "file.bin"), None, timeout=5, deadline=0.5, minimum_rate=0)
    assert os.listdir(tmp_path) == []


def test_a_dripping_server_is_below_the_minimum_rate(url, tmp_path):
    with pytest.raises(DownloadError, match=r"the transfer is too slow: [\d.]+ bytes/s after \d+ s, below the minimum of 100 bytes/s"):
        download(f"{url}/drip", str(tmp_path / "file.bin"), None, timeout=5, deadline=60, minimum_rate=100, rate_grace=0.3)


def test_the_module_defaults_are_the_limits(url, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "DEADLINE", 0.3)
    with pytest.raises(DownloadError, match=r"the deadline is 0.3 s"):
        download(f"{url}/drip", str(tmp_path / "file.bin"), None)


def test_datasets_load_reports_a_bad_server_as_a_net_error(url, tmp_path, monkeypatch):
    from symnet import datasets

    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(mnist.SOURCES, "Tiny", dataclasses.replace(mnist.SOURCES["FashionMNIST"], name="Tiny", folder="tiny", system_dirs=()))
    with pytest.raises(NetError, match=r"Tiny is not on this machine and cannot be downloaded from .*/badlength/train-images-idx3-ubyte.gz \(the server sent a malformed Content-Length header"):
        datasets.load("Tiny", base_url=f"{url}/badlength/")


def test_a_killed_download_leaves_a_partial_that_the_next_attempt_removes(url, tmp_path):
    target = tmp_path / "file.bin"
    script = "import sys; from symnet.datasets.download import download; download(sys.argv[1], sys.argv[2], None, timeout=30, deadline=60, minimum_rate=0)"
    child = subprocess.Popen([sys.executable, "-c", script, f"{url}/drip", str(target)])
    try:
        waited = time.monotonic()
        while not partials(tmp_path) and time.monotonic() - waited < 60:
            time.sleep(0.05)
        assert partials(tmp_path), "the child never started its download"
        # A live download's partial is locked: a cleanup now must leave it alone.
        assert remove_stale_partials(str(target)) == [] and len(partials(tmp_path)) == 1
    finally:
        child.kill()
        child.wait(timeout=30)
    assert len(partials(tmp_path)) == 1  # killed midway: the partial stays behind ...
    download(f"{url}/good", str(target), hashlib.md5(PAYLOAD).hexdigest())
    assert partials(tmp_path) == [] and target.read_bytes() == PAYLOAD  # ... until the next attempt
