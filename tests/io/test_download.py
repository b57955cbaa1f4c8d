"""Tests for naah.io.download against a local HTTP server (no network needed)."""

import hashlib
import http.server
import inspect
import re
import socket
import threading

import numpy as np
import pytest

from naah.io import download
from naah.io.download import DownloadError, download_weights

DATA = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
SHA256 = hashlib.sha256(DATA).hexdigest()
NAME = "imagenet-vgg-verydeep-19.mat"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``data``; honours Range if ``ranges``; stops after ``drop_after`` bytes."""

    data = DATA
    ranges = True
    drop_after = None
    status = 200

    def do_GET(self):
        self.server.requests.append(self.headers.get("Range"))
        if self.status != 200:
            self.send_error(self.status)
            return
        start = 0
        asked = self.headers.get("Range")
        if asked and self.ranges:
            start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))
            if start >= len(self.data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(self.data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            end = len(self.data) - 1
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(self.data)}")
        else:
            self.send_response(200)
        body = self.data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.drop_after is not None:
            body = body[: self.drop_after]  # then the connection closes
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(**handler_attributes) -> (url, list of Range headers received)."""
    servers = []

    def start(**attributes):
        handler = type("TestHandler", (Handler,), attributes)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.requests = []
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}/{NAME}", server.requests

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def fetch(dest, url, **options):
    options = {"sha256": SHA256, "size": len(DATA), "progress": False, **options}
    return download_weights(dest, url=url, **options)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_download_is_verified_and_renamed_into_place(serve, tmp_path):
    url, requests = serve()
    path = fetch(tmp_path / NAME, url)
    assert path == tmp_path / NAME
    assert path.read_bytes() == DATA
    assert leftovers(tmp_path) == [NAME]
    assert requests == [None]


def test_a_folder_as_destination_gets_the_published_file_name(serve, tmp_path):
    url, _ = serve()
    assert fetch(tmp_path, url) == tmp_path / NAME


def test_missing_folders_of_the_destination_are_created(serve, tmp_path):
    url, _ = serve()
    assert fetch(tmp_path / "a" / "b" / NAME, url).read_bytes() == DATA


def test_a_partial_file_is_resumed_with_a_range_request(serve, tmp_path):
    url, requests = serve()
    (tmp_path / f"{NAME}.part").write_bytes(DATA[:12_345])
    assert fetch(tmp_path, url).read_bytes() == DATA
    assert requests == ["bytes=12345-"]
    assert leftovers(tmp_path) == [NAME]


def test_a_server_that_ignores_range_makes_the_download_start_over(serve, tmp_path):
    url, requests = serve(ranges=False)
    (tmp_path / f"{NAME}.part").write_bytes(DATA[:1000])
    assert fetch(tmp_path, url).read_bytes() == DATA
    assert requests == ["bytes=1000-"]


def test_a_complete_part_file_is_only_verified(serve, tmp_path):
    url, requests = serve()
    (tmp_path / f"{NAME}.part").write_bytes(DATA)
    assert fetch(tmp_path, url).read_bytes() == DATA
    assert requests == []


def test_a_complete_part_file_of_unknown_size_is_verified_after_a_416(serve, tmp_path):
    url, requests = serve()
    (tmp_path / f"{NAME}.part").write_bytes(DATA)
    assert fetch(tmp_path, url, size=None).read_bytes() == DATA
    assert requests == [f"bytes={len(DATA)}-"]


def test_a_dropped_connection_keeps_the_part_file_and_a_rerun_resumes(serve, tmp_path):
    dropping, _ = serve(drop_after=100_000)
    with pytest.raises(DownloadError, match=r"100,000 bytes received.*\.part.*resumes"):
        fetch(tmp_path, dropping, retries=0)
    part = tmp_path / f"{NAME}.part"
    assert part.read_bytes() == DATA[:100_000]
    assert not (tmp_path / NAME).exists()

    url, requests = serve()
    assert fetch(tmp_path, url).read_bytes() == DATA
    assert requests == ["bytes=100000-"]
    assert leftovers(tmp_path) == [NAME]


def test_dropped_connections_are_resumed_automatically(serve, tmp_path):
    url, requests = serve(drop_after=120_000)
    assert fetch(tmp_path, url, retries=3).read_bytes() == DATA
    assert requests == [None, "bytes=120000-", "bytes=240000-"]


def test_a_checksum_mismatch_leaves_no_file_at_the_final_name(serve, tmp_path):
    url, _ = serve()
    wrong = "0" * 64
    with pytest.raises(DownloadError, match=f"SHA-256 is {SHA256}, expected {wrong}"):
        fetch(tmp_path, url, sha256=wrong)
    assert leftovers(tmp_path) == [f"{NAME}.corrupt"]
    assert (tmp_path / f"{NAME}.corrupt").read_bytes() == DATA


def test_after_a_mismatch_the_next_download_starts_afresh(serve, tmp_path):
    url, requests = serve()
    with pytest.raises(DownloadError, match="corrupt"):
        fetch(tmp_path, url, sha256="0" * 64)
    assert fetch(tmp_path, url).read_bytes() == DATA
    assert requests == [None, None]


def test_a_file_of_the_wrong_size_is_rejected(serve, tmp_path):
    url, _ = serve()
    with pytest.raises(DownloadError, match="300,000 bytes, expected 300,001"):
        fetch(tmp_path, url, size=len(DATA) + 1)
    assert not (tmp_path / NAME).exists()


def test_a_verified_file_already_in_place_is_not_downloaded_again(serve, tmp_path):
    url, requests = serve()
    (tmp_path / NAME).write_bytes(DATA)
    assert fetch(tmp_path, url) == tmp_path / NAME
    assert requests == []


def test_a_wrong_file_in_place_is_replaced_only_by_a_verified_one(serve, tmp_path):
    url, _ = serve()
    (tmp_path / NAME).write_bytes(b"truncated")
    assert fetch(tmp_path, url).read_bytes() == DATA


def test_an_http_error_is_reported_with_its_status(serve, tmp_path):
    url, _ = serve(status=404)
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(tmp_path, url)
    assert leftovers(tmp_path) == []


def test_an_unreachable_server_is_a_download_error(tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect"):
        fetch(tmp_path, f"http://127.0.0.1:{port}/{NAME}", retries=1)
    assert leftovers(tmp_path) == []


def test_url_hash_and_size_come_from_the_environment_and_dest_from_the_cache(
    serve, tmp_path, monkeypatch
):
    url, _ = serve()
    monkeypatch.setenv("NAAH_WEIGHTS_URL", url)
    monkeypatch.setenv("NAAH_WEIGHTS_SHA256", SHA256)
    monkeypatch.setenv("NAAH_WEIGHTS_SIZE", str(len(DATA)))
    monkeypatch.setenv("NAAH_CACHE", str(tmp_path / "cache"))
    path = download_weights(progress=False)
    assert path == tmp_path / "cache" / NAME
    assert path.read_bytes() == DATA


def test_without_overrides_the_published_file_is_expected(monkeypatch):
    for name in ("NAAH_WEIGHTS_URL", "NAAH_WEIGHTS_SHA256", "NAAH_WEIGHTS_SIZE"):
        monkeypatch.delenv(name, raising=False)
    known = download.KNOWN_FILES[0]
    assert download._expected(None, None, None, None) == (
        known.url, ("sha256", known.sha256), known.size)  # fmt: skip


def test_a_malformed_sha256_is_refused_before_connecting(tmp_path):
    with pytest.raises(ValueError, match="64 hex digits"):
        download_weights(tmp_path, url="http://127.0.0.1:1/x", sha256="abc")


def test_the_progress_bar_counts_bytes_on_stderr(serve, tmp_path, capsys):
    url, _ = serve()
    fetch(tmp_path, url, progress=True)
    assert NAME in capsys.readouterr().err


# -- servers that stall, and malformed settings ------------------------------------------
@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers: (url, accepted count)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the thread sees `done`; close() does not wake it
    accepted = []
    done = threading.Event()

    def accept():
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)  # held open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/{NAME}", accepted
    done.set()
    thread.join()
    listener.close()
    for connection in accepted:
        connection.close()


def test_a_server_that_never_answers_is_given_up_on_without_retrying(
    silent_server, tmp_path
):
    url, accepted = silent_server
    with pytest.raises(DownloadError, match=r"no response within 0\.2 s.*NAAH_WEIGHTS"):
        fetch(tmp_path, url, retries=3, timeout=0.2)
    assert len(accepted) == 1  # one stall, not four
    assert leftovers(tmp_path) == []


def test_a_stall_after_some_data_is_resumed_like_a_dropped_connection(serve, tmp_path):
    release = threading.Event()

    def stall_the_first_time(handler):
        if handler.server.requests:  # the second request is served in full
            return Handler.do_GET(handler)
        handler.server.requests.append(handler.headers.get("Range"))
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(DATA)))
        handler.end_headers()
        handler.wfile.write(DATA[:50_000])
        handler.wfile.flush()
        release.wait(10)  # silent until the test ends

    url, requests = serve(do_GET=stall_the_first_time)
    try:
        assert fetch(tmp_path, url, retries=1, timeout=0.2).read_bytes() == DATA
    finally:
        release.set()
    assert requests == [None, "bytes=50000-"]


def test_the_stall_timeout_is_30_seconds_by_default():
    default = inspect.signature(download_weights).parameters["timeout"].default
    assert default == download.TIMEOUT_S == 30


@pytest.mark.parametrize("value", ["abc", "-5", "1.5e9", " "])
def test_a_malformed_size_in_the_environment_is_named(monkeypatch, tmp_path, value):
    monkeypatch.setenv("NAAH_WEIGHTS_SIZE", value)
    with pytest.raises(ValueError, match=rf"\$NAAH_WEIGHTS_SIZE must be .*{value!r}"):
        download_weights(tmp_path, url="http://127.0.0.1:1/x", sha256=SHA256)


def test_a_malformed_sha256_in_the_environment_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("NAAH_WEIGHTS_SHA256", "abc")
    with pytest.raises(ValueError, match=r"\$NAAH_WEIGHTS_SHA256 must be 64 hex"):
        download_weights(tmp_path, url="http://127.0.0.1:1/x")


def test_a_url_that_is_not_one_is_named_with_where_it_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv("NAAH_WEIGHTS_URL", "mirror.example.org/vgg.mat")
    with pytest.raises(ValueError, match=r"\$NAAH_WEIGHTS_URL must be a URL"):
        download_weights(tmp_path, sha256=SHA256)
    with pytest.raises(ValueError, match=r"^url must be a URL"):
        download_weights(tmp_path, url="vgg.mat", sha256=SHA256)
