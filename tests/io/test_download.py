"""Tests for naah.io.download against a local HTTP server (no network needed)."""

import contextlib
import errno
import hashlib
import http.server
import inspect
import os
import re
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from naah.io import download
from naah.io.download import (
    Deadline,
    DownloadError,
    DownloadWriteError,
    download_weights,
)
from tests.io import _corpus

DATA = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
SHA256 = hashlib.sha256(DATA).hexdigest()
NAME = "imagenet-vgg-verydeep-19.mat"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``data``; honours Range if ``ranges``; stops after ``drop_after`` bytes.

    ``length`` replaces the Content-Length header (a list: several; ``()``: none,
    the body then ends when the connection closes); ``extra`` follows the body.
    """

    data = DATA
    ranges = True
    drop_after = None
    status = 200
    length = None
    extra = b""

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
        length = [str(len(body))] if self.length is None else self.length
        for value in [length] if isinstance(length, str) else length:
            self.send_header("Content-Length", value)
        self.end_headers()
        if self.drop_after is not None:
            body = body[: self.drop_after]  # then the connection closes
        with contextlib.suppress(OSError):  # a client that refused the body left
            self.wfile.write(body + self.extra)
        self.close_connection = True

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
    url, _ = serve(length=())  # no Content-Length: found out at the end
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
    wanted = download._expected(None, None, None, None)
    assert (wanted.url, wanted.algorithm, wanted.digest, wanted.size) == (
        known.url, "sha256", known.sha256, known.size)  # fmt: skip
    assert wanted.size == 534_904_783


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


# -- the expected size bounds every read (issue 21, item 9) ------------------------------
def test_a_length_other_than_the_expected_size_is_refused_before_reading(
    serve, tmp_path
):
    url, requests = serve(length="10000000000", extra=DATA * 10)  # "10 GB"
    with pytest.raises(DownloadError) as refusal:
        fetch(tmp_path, url, retries=3)
    message = str(refusal.value)
    assert "announces 10,000,000,000 bytes (Content-Length)" in message
    assert "300,000 bytes are expected (size)" in message
    assert "nothing was written" in message
    assert leftovers(tmp_path) == []  # not a byte on disk
    assert requests == [None]  # and not retried


def test_the_published_size_is_named_when_a_mirror_announces_another(
    serve, tmp_path, monkeypatch
):
    url, _ = serve(length="10000000000")
    for name in ("NAAH_WEIGHTS_SHA256", "NAAH_WEIGHTS_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DownloadError) as refusal:
        download_weights(tmp_path, url=url, progress=False)
    message = str(refusal.value)
    assert f"534,904,783 bytes are expected ({NAME}'s published size)" in message
    assert "does not serve" in message and "$NAAH_WEIGHTS_URL" in message
    assert leftovers(tmp_path) == []


def test_a_resumed_download_announcing_the_wrong_rest_keeps_what_it_had(
    serve, tmp_path
):
    url, requests = serve(length="5")
    part = tmp_path / f"{NAME}.part"
    part.write_bytes(DATA[:1000])
    with pytest.raises(
        DownloadError, match=r"5 bytes from byte 1,000 on \(1,005 in all\)"
    ):
        fetch(tmp_path, url)
    assert part.read_bytes() == DATA[:1000]
    assert requests == ["bytes=1000-"]


def test_the_size_in_the_environment_is_enforced_and_named(
    serve, tmp_path, monkeypatch
):
    url, _ = serve()
    monkeypatch.setenv("NAAH_WEIGHTS_SIZE", "1000")
    with pytest.raises(DownloadError) as refusal:
        fetch(tmp_path, url, size=None)
    message = str(refusal.value)
    assert "1,000 bytes are expected ($NAAH_WEIGHTS_SIZE)" in message
    assert "Check url and $NAAH_WEIGHTS_SIZE" in message
    assert leftovers(tmp_path) == []


def test_a_body_longer_than_the_expected_size_is_cut_off_there(serve, tmp_path):
    url, _ = serve(length=(), extra=b"\0" * 5_000_000)  # no Content-Length
    with pytest.raises(DownloadError, match=r"more than the file may have.*cut off"):
        fetch(tmp_path, url)
    assert leftovers(tmp_path) == [f"{NAME}.corrupt"]
    assert (tmp_path / f"{NAME}.corrupt").stat().st_size == len(DATA)  # not a byte more


def test_the_size_in_the_environment_bounds_a_body_of_unannounced_length(
    serve, tmp_path, monkeypatch
):
    url, _ = serve(length=())
    monkeypatch.setenv("NAAH_WEIGHTS_SIZE", "1000")
    with pytest.raises(DownloadError, match=r"1,000 bytes are expected \(\$NAAH_WEI"):
        fetch(tmp_path, url, size=None)
    assert (tmp_path / f"{NAME}.corrupt").stat().st_size == 1000


@pytest.mark.parametrize("announced", [(), ("300000",)], ids=["unannounced", "length"])
def test_without_an_expected_size_a_download_is_bounded_all_the_same(
    serve, tmp_path, monkeypatch, announced
):
    monkeypatch.setattr(download, "UNKNOWN_SIZE_LIMIT", 100_000)
    url, _ = serve(length=announced)
    with pytest.raises(
        DownloadError, match=r"at most 100,000 bytes.*NAAH_WEIGHTS_SIZE"
    ):
        fetch(tmp_path, url, size=None)
    written = [p.stat().st_size for p in tmp_path.iterdir()]
    assert written == ([100_000] if not announced else [])


def test_the_limit_without_a_size_holds_any_weights_file_naah_knows():
    largest = max(known.size or 0 for known in download.KNOWN_FILES)
    assert largest < download.UNKNOWN_SIZE_LIMIT <= 2 * largest


@pytest.mark.parametrize(
    "length", ["abc", "-5", "1e9", "0x10", "", ["300000", "300001"]]
)
def test_a_malformed_content_length_is_refused_in_words(serve, tmp_path, length):
    url, requests = serve(length=length)
    with pytest.raises(DownloadError, match=r"malformed Content-Length header"):
        fetch(tmp_path, url)
    assert leftovers(tmp_path) == [] and len(requests) == 1


def test_a_content_length_of_thousands_of_digits_is_refused_in_words(serve, tmp_path):
    url, _ = serve(length="9" * 5000)  # more than int() takes from a string
    with pytest.raises(DownloadError, match=r"announces 1,000,000,000,000,000,000 b"):
        fetch(tmp_path, url)


@pytest.mark.parametrize("name", list(_corpus.lying_responses(DATA)))
def test_no_lying_response_in_the_corpus_gets_past_the_expected_size(
    serve, tmp_path, name
):
    headers, body = _corpus.lying_responses(DATA)[name]
    url, requests = serve(data=body, length=[value for _, value in headers])
    with pytest.raises(DownloadError, match="refused|more than the file may have"):
        fetch(tmp_path, url, retries=3)
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= len(DATA)
    assert not (tmp_path / NAME).exists() and len(requests) == 1


# -- an overall deadline from a minimum rate ---------------------------------------------
def test_the_deadline_gives_the_published_file_3_hours_and_a_trickle_a_minute():
    deadline = Deadline()
    assert (deadline.min_rate, deadline.grace_s) == (50_000, 60)
    assert deadline.limit_s(534_904_783) == pytest.approx(10_758, abs=1)
    assert not deadline.behind(received=0, elapsed=59)  # the grace period
    assert deadline.behind(received=6, elapsed=61)  # a byte every 10 s
    assert not deadline.behind(received=50_000 * 40, elapsed=100)  # just on pace
    assert deadline.behind(received=50_000 * 40 - 1, elapsed=100)


@pytest.mark.parametrize("rate, grace", [(0, 1), (-1, 1), (1, -1), (float("nan"), 1)])
def test_a_deadline_that_allows_nothing_is_refused(rate, grace):
    with pytest.raises(ValueError, match="min_rate > 0"):
        Deadline(min_rate=rate, grace_s=grace)


def test_a_trickling_server_is_given_up_once_it_falls_behind_the_minimum_rate(
    serve, tmp_path
):
    release = threading.Event()

    def trickle(handler):  # a byte every 20 ms, each well within the 5 s timeout
        handler.server.requests.append(handler.headers.get("Range"))
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(DATA)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            for byte in DATA[:500]:  # 10 s, then the connection closes
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                if release.wait(0.02):
                    return

    url, requests = serve(do_GET=trickle)
    deadline = Deadline(min_rate=10_000, grace_s=0.2)
    start = time.monotonic()
    try:
        with pytest.raises(DownloadError) as slow:
            fetch(tmp_path, url, retries=3, timeout=5, deadline=deadline)
    finally:
        release.set()
    assert time.monotonic() - start < 5  # never the timeout: the deadline
    message = str(slow.value)
    assert (
        "under the minimum average of 10,000 bytes/s after the first 0.2 s" in message
    )
    assert "kept in" in message and "NAAH_WEIGHTS_URL" in message  # nothing lost
    assert requests == [None]  # a slow server is not retried


# -- the disk ----------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_reported_as_such_not_as_a_lost_connection(serve, tmp_path):
    url, requests = serve()
    (tmp_path / f"{NAME}.part").symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(DownloadWriteError) as full:
        fetch(tmp_path, url, retries=3)
    message = str(full.value)
    assert f"no space left on the device holding {tmp_path}" in message
    assert "connection" not in message and "--dest" in message
    assert requests == [None]  # not retried


@pytest.mark.parametrize(
    "code, words",
    [(errno.ENOSPC, "no space left on the device holding"),
     (errno.EDQUOT, "the disk quota is exceeded for"),
     (errno.EIO, "cannot write")],
)  # fmt: skip
def test_a_failed_write_names_its_cause_and_keeps_what_was_written(
    serve, tmp_path, monkeypatch, code, words
):
    url, _ = serve()

    class FillingFile:  # the disk fills after 100,000 bytes
        def __init__(self, path, mode):
            self.file = open(path, mode)
            self.name = self.file.name

        def write(self, data):
            room = 100_000 - self.file.tell()
            self.file.write(data[: max(room, 0)])
            if room < len(data):
                raise OSError(code, os.strerror(code))

        def tell(self):
            return self.file.tell()

        def close(self):
            self.file.close()

    monkeypatch.setattr(download, "open", FillingFile, raising=False)
    with pytest.raises(DownloadWriteError, match=rf"{words} .*100,000 bytes .*kept"):
        fetch(tmp_path, url)
    monkeypatch.undo()
    assert fetch(tmp_path, url).read_bytes() == DATA  # the rerun resumes


# -- URLs and local files ----------------------------------------------------------------
@pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "a b", "caf\u00e9", "a\tb"])
@pytest.mark.parametrize("where", ["argument", "environment"])
def test_a_url_with_control_characters_is_refused_naming_its_setting(
    monkeypatch, tmp_path, bad, where
):
    url = f"http://127.0.0.1:1/{bad}"
    if where == "environment":
        monkeypatch.setenv("NAAH_WEIGHTS_URL", url)
    setting = r"\$NAAH_WEIGHTS_URL" if where == "environment" else "url"
    with pytest.raises(ValueError, match=rf"^{setting} must be a URL without spaces"):
        download_weights(
            tmp_path, url=url if where == "argument" else None, sha256=SHA256
        )
    assert leftovers(tmp_path) == []


def test_a_file_url_to_a_regular_file_is_copied_and_verified(tmp_path):
    source = tmp_path / "mirror" / "vgg.mat"
    source.parent.mkdir()
    source.write_bytes(DATA)
    path = fetch(tmp_path / "dest" / NAME, source.as_uri())
    assert path.read_bytes() == DATA


def test_a_file_url_to_a_file_of_another_size_is_refused_before_reading(tmp_path):
    source = tmp_path / "vgg.mat"
    source.write_bytes(DATA + b"more")
    (tmp_path / "dest").mkdir()
    with pytest.raises(DownloadError, match=r"announces 300,004 bytes"):
        fetch(tmp_path / "dest", source.as_uri())
    assert leftovers(tmp_path / "dest") == []


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_a_file_url_to_anything_but_a_regular_file_is_refused_at_once(
    tmp_path, monkeypatch, special
):
    monkeypatch.setattr(download, "UNKNOWN_SIZE_LIMIT", 1_000_000)  # were it read
    if special == "fifo":
        path = tmp_path / "weights.fifo"
        os.mkfifo(path)
    elif special == "directory":
        path = tmp_path / "folder"
        path.mkdir()
    else:
        path = Path(special)
    dest = tmp_path / "dest"
    dest.mkdir()
    outcome = []

    def attempt():
        try:
            fetch(dest, path.as_uri(), size=None)
        except DownloadError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(30)  # refused in milliseconds; 30 s only if it were blocked
    if thread.is_alive() and special == "fifo":
        with open(path, "wb"):  # let the blocked reader go, then fail
            pass
        thread.join(30)
    assert not thread.is_alive() and outcome, "the special file was read"
    assert f"{path} is a" in outcome[0] and "not a regular file" in outcome[0]
    assert leftovers(dest) == []


@pytest.mark.skipif(not os.path.isfile("/proc/self/status"), reason="needs Linux /proc")
def test_a_local_file_longer_than_it_announced_is_cut_off_there(tmp_path):
    # /proc files are regular files that announce 0 bytes and hold more.
    with pytest.raises(DownloadError, match=r"more than the 0 bytes its Content-Len"):
        fetch(tmp_path, "file:///proc/self/status", size=None)
    assert (tmp_path / f"{NAME}.corrupt").stat().st_size == 0
