"""Weights on first use: sources tried in order, each verified; refusals are quick.

Local HTTP servers on 127.0.0.1 stand in for the real hosts (the only servers these
machines reach); the published sources are replaced by them or by a closed port.
"""

import contextlib
import hashlib
import http.server
import io
import os
import threading
import time
from pathlib import Path

import pytest

from naah.cli import main
from naah.io import sources
from naah.io.download import Deadline, DownloadError, DownloadWriteError
from naah.io.locate import WeightsNotFoundError, default_weights_path
from naah.io.weights import KnownFile
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def weights_file(tmp_path):
    return Path(write_vgg19_mat(tmp_path / "served.mat"))


@pytest.fixture
def server(weights_file):
    """Serves the fixture weights at /vgg.mat, announcing 10 GB at /10gb.mat and a
    byte every 20 ms at /slow.mat; 404 elsewhere."""
    data = weights_file.read_bytes()
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in ("/vgg.mat", "/10gb.mat", "/slow.mat"):
                self.send_error(404)
                return
            self.send_response(200)
            lie = self.path == "/10gb.mat"
            self.send_header("Content-Length", str(10**10 if lie else len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # a client that gave up
                if self.path != "/slow.mat":
                    self.wfile.write(data)
                    return
                for byte in data[:500]:  # 10 s, then the connection closes
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if release.wait(0.02):
                        return

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("NAAH_CACHE", str(folder))
    for name in ("NAAH_WEIGHTS", "NAAH_WEIGHTS_URL", "NAAH_WEIGHTS_SHA256",
                 "NAAH_WEIGHTS_SIZE", "NAAH_NO_DOWNLOAD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return folder


def published(weights_file, *urls):
    """The "matconvnet" sources replaced by ``urls``, all for the fixture file."""
    data = weights_file.read_bytes()
    known = KnownFile("imagenet-vgg-verydeep-19.mat", "matconvnet-current",
                      len(data), hashlib.sha256(data).hexdigest(), None, urls[0])  # fmt: skip
    return tuple(
        sources.Source(url, known, f"source {k}") for k, url in enumerate(urls)
    )


CLOSED = "http://127.0.0.1:9/vgg.mat"  # discard port: connection refused


def test_the_next_source_is_tried_when_one_fails(
    server, weights_file, cache, monkeypatch
):
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, CLOSED, f"{server}/missing",
                                  f"{server}/vgg.mat"))  # fmt: skip
    path = sources.ensure_weights(progress=False)
    assert path == default_weights_path()
    assert path.read_bytes() == weights_file.read_bytes()


def test_the_users_own_url_comes_first(server, weights_file, cache, monkeypatch):
    data = weights_file.read_bytes()
    monkeypatch.setenv("NAAH_WEIGHTS_URL", f"{server}/vgg.mat")
    monkeypatch.setenv("NAAH_WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    tried = []
    monkeypatch.setitem(sources.SOURCES, "matconvnet", published(weights_file, CLOSED))
    download = sources.download_weights

    def spy(dest, **options):  # the user's URL is read from the environment
        tried.append(options.get("url", "$NAAH_WEIGHTS_URL"))
        return download(dest, **options)

    monkeypatch.setattr(sources, "download_weights", spy)
    assert sources.fetch_weights(progress=False).read_bytes() == data
    assert tried == ["$NAAH_WEIGHTS_URL"]


def test_when_every_source_fails_the_error_lists_them_and_the_manual_way(
    server, weights_file, cache, monkeypatch
):
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, CLOSED, f"{server}/missing"))  # fmt: skip
    with pytest.raises(DownloadError) as error:
        sources.fetch_weights(progress=False)
    message = str(error.value)
    assert CLOSED in message and f"{server}/missing" in message and "404" in message
    assert "by hand" in message and "--weights" in message
    assert not default_weights_path().exists()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_refusing_to_download_is_immediate_and_says_how(cache, monkeypatch, how):
    monkeypatch.setitem(sources.SOURCES, "matconvnet", ())  # nothing may be tried
    if how == "environment":
        monkeypatch.setenv("NAAH_NO_DOWNLOAD", "1")
    start = time.perf_counter()
    with pytest.raises(WeightsNotFoundError, match="imagenet-vgg-verydeep-19.mat"):
        sources.ensure_weights(download=False if how == "argument" else None)
    assert time.perf_counter() - start < 10


def test_a_given_path_that_is_missing_is_never_replaced_by_a_download(cache, tmp_path):
    with pytest.raises(WeightsNotFoundError, match="nope.mat"):
        sources.ensure_weights(tmp_path / "nope.mat")


def test_keras_notop_is_checked_by_its_published_md5(server, weights_file, cache,
                                                      monkeypatch):  # fmt: skip
    data = weights_file.read_bytes()
    wrong = KnownFile("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "keras",
                      len(data), None, "0" * 32, "")  # fmt: skip
    monkeypatch.setitem(sources.SOURCES, "keras-notop",
                        (sources.Source(f"{server}/vgg.mat", wrong, "test"),))  # fmt: skip
    with pytest.raises(DownloadError, match="MD5 is"):
        sources.fetch_weights("keras-notop", progress=False)
    right = KnownFile(wrong.name, "keras", len(data), None,
                      hashlib.md5(data).hexdigest(), "")  # fmt: skip
    monkeypatch.setitem(sources.SOURCES, "keras-notop",
                        (sources.Source(f"{server}/vgg.mat", right, "test"),))  # fmt: skip
    path = sources.fetch_weights("keras-notop", progress=False)
    assert path.name == wrong.name and path.parent == cache


# The stand-in file has the published file's name but not its size: a warning.
@pytest.mark.filterwarnings("default::UserWarning")
def test_naah_stylize_fetches_the_weights_on_first_use_and_goes_on(
    server, weights_file, cache, monkeypatch, tmp_path
):
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, CLOSED, f"{server}/vgg.mat"))  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["stylize", str(IMAGES / "tubingen.jpg"),
                       str(IMAGES / "starry_night.jpg"), "-o", str(tmp_path / "r.png"),
                       "--size", "32", "--iterations", "2", "--no-checkpoint"])  # fmt: skip
    assert status == 0, err.getvalue()
    assert "no VGG-19 weights found; downloading" in err.getvalue()
    assert default_weights_path().is_file() and (tmp_path / "r.png").is_file()


def test_naah_stylize_no_download_refuses_in_one_line(cache, tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["stylize", str(IMAGES / "tubingen.jpg"),
                       str(IMAGES / "starry_night.jpg"), "-o", str(tmp_path / "r.png"),
                       "--no-download"])  # fmt: skip
    assert status == 1
    assert err.getvalue().count("\n") == 1 and "naah weights download" in err.getvalue()
    assert not (tmp_path / "r.png").exists()


# -- hostile mirrors (issue 21, item 9) ---------------------------------------------------
@pytest.mark.parametrize("mirror", ["10gb", "slow"])
def test_a_lying_or_trickling_mirror_is_given_up_and_the_next_source_serves(
    server, weights_file, cache, monkeypatch, mirror
):
    data = weights_file.read_bytes()
    monkeypatch.setenv("NAAH_WEIGHTS_URL", f"{server}/{mirror}.mat")
    monkeypatch.setenv("NAAH_WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setenv("NAAH_WEIGHTS_SIZE", str(len(data)))
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, f"{server}/vgg.mat"))  # fmt: skip
    deadline = Deadline(min_rate=10_000, grace_s=0.2)  # the slow one: 50 bytes/s
    start = time.monotonic()
    path = sources.fetch_weights(progress=False, timeout=5, deadline=deadline)
    assert time.monotonic() - start < 8  # not the 10 s trickle: given up after 0.2 s
    assert path.read_bytes() == data
    assert sorted(p.name for p in cache.iterdir()) == [path.name]


def test_a_bad_url_in_the_environment_is_refused_at_once_naming_it(
    weights_file, cache, monkeypatch
):
    monkeypatch.setenv("NAAH_WEIGHTS_URL", "http://127.0.0.1:9/vgg.mat\r\nX-A: b")
    monkeypatch.setitem(sources.SOURCES, "matconvnet", published(weights_file, CLOSED))
    with pytest.raises(ValueError, match=r"^\$NAAH_WEIGHTS_URL must be a URL without"):
        sources.fetch_weights(progress=False)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_stops_at_once_without_trying_the_other_sources(
    server, weights_file, cache, monkeypatch
):
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, f"{server}/vgg.mat",
                                  f"{server}/vgg.mat"))  # fmt: skip
    cache.mkdir()
    (cache / "imagenet-vgg-verydeep-19.mat.part").symlink_to("/dev/full")
    tried = []
    download = sources.download_weights

    def spy(dest, **options):
        tried.append(options["url"])
        return download(dest, **options)

    monkeypatch.setattr(sources, "download_weights", spy)
    with pytest.raises(DownloadWriteError, match=f"no space left on .* {cache} "):
        sources.fetch_weights(progress=False)
    assert len(tried) == 1


@pytest.mark.parametrize("case", ["url", "full disk"])
def test_naah_weights_download_names_the_cause_in_one_line(
    server, weights_file, cache, monkeypatch, case
):
    monkeypatch.setitem(sources.SOURCES, "matconvnet",
                        published(weights_file, f"{server}/vgg.mat"))  # fmt: skip
    if case == "url":
        monkeypatch.setenv("NAAH_WEIGHTS_URL", "http://127.0.0.1:9/a b.mat")
        expected = "NAAH_WEIGHTS_URL must be a URL without spaces"
    else:
        if not os.path.exists("/dev/full"):
            pytest.skip("needs /dev/full")
        cache.mkdir()
        (cache / "imagenet-vgg-verydeep-19.mat.part").symlink_to("/dev/full")
        expected = f"no space left on the device holding {cache}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["weights", "download", "--quiet"])
    assert status == 1
    assert err.getvalue().count("\n") == 1 and expected in err.getvalue()
