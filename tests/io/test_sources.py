"""Weights on first use: sources tried in order, each verified; refusals are quick.

Local HTTP servers on 127.0.0.1 stand in for the real hosts (the only servers these
machines reach); the published sources are replaced by them or by a closed port.
"""

import contextlib
import hashlib
import http.server
import io
import threading
import time
from pathlib import Path

import pytest

from naah.cli import main
from naah.io import sources
from naah.io.download import DownloadError
from naah.io.locate import WeightsNotFoundError, default_weights_path
from naah.io.weights import KnownFile
from naah.testing import write_vgg19_mat

IMAGES = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def weights_file(tmp_path):
    return Path(write_vgg19_mat(tmp_path / "served.mat"))


@pytest.fixture
def server(weights_file):
    """Serves the fixture weights at /vgg.mat; 404 elsewhere."""
    data = weights_file.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/vgg.mat":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
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

    def spy(dest, **options):
        tried.append(options["url"])
        return download(dest, **options)

    monkeypatch.setattr(sources, "download_weights", spy)
    sources.fetch_weights(progress=False)
    assert tried == [f"{server}/vgg.mat"]


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
