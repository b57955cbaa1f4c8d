"""WebView over real HTTP (urllib): its routes, where it listens, Stop, and quiet
handling of clients that go away."""

import http.client
import io
import json
import math
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.io.images import load_image, to_uint8
from naah.live import WebView, is_loopback, web
from naah.live._state import png_bytes
from naah.optim import IterationRecord

FAKE_RUN = Path(__file__).with_name("_fake_run.py")


def record(iteration, total=None, content=1.0, style=2.0, **more):
    total = 100.0 / (iteration + 1) if total is None else total
    return IterationRecord(iteration, total, content, style, 0.0, iteration / 10,
                           iteration + 1, **more)  # fmt: skip


def image(height=24, width=32, value=0.0):
    rng = np.random.default_rng(int(value))
    return rng.uniform(0, 255, (height, width, 3)).astype(np.float32)


@pytest.fixture
def stops():
    return []


@pytest.fixture
def view(stops):
    with WebView(stop=lambda: stops.append(time.monotonic())) as served:
        yield served


def get(url, **headers):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
        return r.status, r.headers, r.read()


def get_json(url, **headers):
    status, _, body = get(url, **headers)
    assert status == 200
    return json.loads(body)


def post(url, **headers):
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def error_of(url, **headers):
    with pytest.raises(urllib.error.HTTPError) as raised:
        get(url, **headers)
    error = raised.value
    assert error.headers["Content-Type"] == "application/json"
    return error.code, json.loads(error.read())


def test_url_is_loopback_with_the_chosen_port(view):
    assert view.url == f"http://127.0.0.1:{view.port}/"
    assert view.port > 0
    assert view._server.socket.getsockname() == ("127.0.0.1", view.port)


def test_port_zero_picks_a_free_port_each_time(view):
    with WebView(stop=lambda: None) as other:
        assert other.port not in (0, view.port)


def test_a_port_in_use_is_an_os_error(view):
    with pytest.raises(OSError):
        WebView(port=view.port, stop=lambda: None)


def test_state_json_holds_the_latest_record_and_the_history_so_far(view):
    for i in range(4):
        view(record(i), image(value=i))

    state = get_json(view.url + "state.json")

    assert state["status"] == "running"
    assert state["iteration"] == 3
    assert (state["total"], state["content"], state["style"]) == (25.0, 1.0, 2.0)
    assert state["evaluations"] == 4
    assert state["image"] == {"width": 32, "height": 24}
    assert [r["iteration"] for r in state["history"]] == [0, 1, 2, 3]
    assert state["history"][1] == {
        "iteration": 1,
        "total": 50.0,
        "content": 1.0,
        "style": 2.0,
    }


def test_state_json_since_n_sends_the_history_from_the_nth_record(view):
    for i in range(5):
        view(record(i), image())

    assert [r["iteration"] for r in get_json(view.url + "state.json?since=3")[
        "history"
    ]] == [3, 4]  # fmt: skip
    beyond = get_json(view.url + "state.json?since=99")
    assert beyond["since"] == 0 and len(beyond["history"]) == 5


def test_before_the_first_iteration_the_state_is_waiting_and_there_is_no_image(view):
    state = get_json(view.url + "state.json")
    assert (state["status"], state["iteration"], state["history"]) == (
        "waiting",
        None,
        [],
    )
    assert error_of(view.url + "image.png") == (404, {"error": "no image yet"})


def test_losses_that_are_not_finite_are_null_in_the_json(view):
    view(record(0, total=math.nan, style=math.inf), image())

    state = get_json(view.url + "state.json")

    assert state["total"] is None and state["style"] is None
    assert state["history"][0]["total"] is None


def test_image_png_is_the_latest_image_as_a_png_of_its_size(view):
    view(record(0), image(value=0))
    latest = image(height=30, width=50, value=1)
    view(record(1), latest)

    status, headers, body = get(view.url + "image.png?iteration=1")

    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "no-store"
    png = Image.open(io.BytesIO(body))
    assert png.format == "PNG" and png.size == (50, 30)
    np.testing.assert_array_equal(np.asarray(png.convert("RGB")), to_uint8(latest))


def test_the_png_is_encoded_again_at_most_every_image_interval(monkeypatch):
    monkeypatch.setattr(web, "MAX_ENCODE_SHARE", math.inf)
    with WebView(stop=lambda: None, image_interval=3600) as slow:
        slow(record(0), image(value=0))
        first = slow.png()
        slow(record(1), image(value=1))
        assert slow.png() is first  # younger than an hour: kept
    with WebView(stop=lambda: None, image_interval=0) as eager:
        eager(record(0), image(value=0))
        first = eager.png()
        eager(record(1), image(value=1))
        assert eager.png() != first


def test_encoding_takes_at_most_a_twentieth_of_the_time(monkeypatch):
    def slow_png(image):
        time.sleep(0.05)
        return png_bytes(image)

    monkeypatch.setattr(web, "png_bytes", slow_png)
    with WebView(stop=lambda: None, image_interval=0) as view:
        view(record(0), image(value=0))
        first = view.png()
        view(record(1), image(value=1))
        assert view.png() is first  # 1 s must pass after a 0.05 s encoding


def test_a_new_run_starts_the_history_again(view):
    for i in range(3):
        view(record(i), image())
    view(record(0), image())

    state = get_json(view.url + "state.json")

    assert state["run"] == 1
    assert [r["iteration"] for r in state["history"]] == [0]


def test_a_coarse_to_fine_run_is_one_history_with_its_scale(view):
    for i in range(3):
        view(record(i, scale=128), image(24, 32))
    for i in range(2, 4):  # the next scale starts where the last one ended
        view(record(i, scale=256), image(48, 64))

    state = get_json(view.url + "state.json")

    assert (state["run"], state["scale"], state["iteration"]) == (0, 256, 3)
    assert [r["iteration"] for r in state["history"]] == [0, 1, 2, 2, 3]
    assert state["image"] == {"width": 64, "height": 48}


def test_the_page_is_html_that_fetches_nothing_from_elsewhere(view):
    status, headers, body = get(view.url)
    page = body.decode()

    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    for route in ("state.json", "image.png", '"stop"', "<canvas", "<img"):
        assert route in page
    for external in ("http://", "https://", "//cdn", 'src="//'):
        assert external not in page.replace("http://www.w3.org", "")


def test_unknown_paths_are_a_json_404(view):
    assert error_of(view.url + "nothing/here") == (
        404,
        {"error": "not found", "path": "/nothing/here"},
    )
    assert post(view.url + "state.json") == (
        404,
        {"error": "not found", "path": "/state.json"},
    )


def test_an_unsupported_method_is_answered_in_json(view):
    connection = http.client.HTTPConnection("127.0.0.1", view.port, timeout=5)
    connection.request("DELETE", "/")
    response = connection.getresponse()
    assert response.status == 501
    assert response.getheader("Content-Type") == "application/json"
    assert "error" in json.loads(response.read())
    connection.close()


def test_post_stop_calls_stop_once(view, stops):
    assert post(view.url + "stop") == (202, {"stopping": True})
    assert post(view.url + "stop") == (202, {"stopping": True})

    assert len(stops) == 1
    assert get_json(view.url + "state.json")["status"] == "stopping"


def test_get_stop_is_refused_and_stops_nothing(view, stops):
    code, answer = error_of(view.url + "stop")
    assert code == 405 and "POST" in answer["error"]
    assert stops == []


def test_a_stop_that_fails_is_a_500_and_can_be_tried_again():
    calls = []

    def stop():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("not now")

    with WebView(stop=stop) as view:
        assert post(view.url + "stop") == (500, {"error": "RuntimeError: not now"})
        assert post(view.url + "stop") == (202, {"stopping": True})
    assert len(calls) == 2


def test_a_stop_from_another_sites_page_is_refused(view, stops):
    code, _ = post(view.url + "stop", Origin="http://evil.example")
    assert code == 403
    own = f"http://127.0.0.1:{view.port}"
    assert post(view.url + "stop", Origin=own) == (202, {"stopping": True})
    assert len(stops) == 1


def test_a_request_naming_another_host_is_refused(view):
    # A DNS-rebinding page reaches 127.0.0.1 under its own name.
    assert error_of(view.url + "state.json", Host=f"evil.example:{view.port}") == (
        403,
        {"error": "unknown Host"},
    )
    assert get_json(view.url + "state.json", Host=f"localhost:{view.port}")


def _this_machines_address():
    """An address of this machine other than loopback, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) or address == "0.0.0.0" else address


def test_by_default_it_cannot_be_reached_from_another_address(view):
    address = _this_machines_address()
    if address is None:
        pytest.skip("this machine has no address other than loopback")
    with pytest.raises(OSError), socket.create_connection((address, view.port), 2):
        pass


def test_a_host_other_machines_reach_needs_allow_remote():
    with pytest.raises(ValueError, match="allow_remote=True"):
        WebView("0.0.0.0", stop=lambda: None)
    with WebView("0.0.0.0", allow_remote=True, stop=lambda: None) as view:
        assert view.url == f"http://127.0.0.1:{view.port}/?token={view.token}"
        state = get_json(base(view) + "state.json", **{"X-Naah-Token": view.token})
        assert state["status"] == "waiting"


def base(view):
    """The view's address without its token."""
    return f"http://127.0.0.1:{view.port}/"


@pytest.fixture
def remote(stops):
    with WebView(
        "0.0.0.0", allow_remote=True, stop=lambda: stops.append(time.monotonic())
    ) as served:
        served(record(0), image())
        yield served


def test_a_view_other_machines_reach_has_a_random_token_in_its_url(remote):
    assert remote.url.startswith(base(remote) + "?token=")
    assert len(remote.token) >= 32  # 24 random bytes, as Jupyter's
    with WebView("0.0.0.0", allow_remote=True, stop=lambda: None) as other:
        assert other.token != remote.token
    with WebView(stop=lambda: None) as loopback:
        assert loopback.token is None and "token" not in loopback.url


def test_without_its_token_a_remote_view_refuses_every_request_and_stop(remote, stops):
    needs = "this live view needs its token: open the URL that naah printed"
    for path in ("", "state.json", "image.png", "?token=wrong", "stop"):
        code, answer = error_of(base(remote) + path)
        assert code == 403 and answer["error"].startswith(needs), path
    code, answer = post(base(remote) + "stop")
    assert code == 403 and answer["error"].startswith(needs)
    assert post(base(remote) + "stop", **{"X-Naah-Token": "wrong"})[0] == 403
    assert stops == []


def test_with_its_token_a_remote_view_serves_the_page_and_stops(remote, stops):
    status, _, page = get(remote.url)
    assert status == 200 and b"X-Naah-Token" in page
    token = {"X-Naah-Token": remote.token}
    assert get_json(base(remote) + "state.json", **token)["iteration"] == 0
    assert get(base(remote) + "image.png", **token)[0] == 200
    assert post(base(remote) + "stop", **token) == (202, {"stopping": True})
    assert len(stops) == 1


def test_a_token_given_is_required_on_loopback_too(stops):
    with WebView(token="s3cret", stop=lambda: stops.append(1)) as view:
        assert view.url == f"http://127.0.0.1:{view.port}/?token=s3cret"
        assert post(base(view) + "stop")[0] == 403
        assert post(view.url.replace("/?", "/stop?"))[0] == 202
    with pytest.raises(ValueError, match="token must be a non-empty str"):
        WebView(token="")


@pytest.mark.parametrize("since", ["%C2%B2", "abc", "-1", "1.5", "%201"])  # %C2%B2: ²
def test_a_since_that_is_not_a_record_number_is_a_400_that_says_so(view, since):
    code, answer = error_of(view.url + f"state.json?since={since}")
    assert code == 400
    assert answer["error"].startswith("since must be a record number (0, 1, …)")


def test_a_since_of_thousands_of_digits_is_past_the_end_and_sends_it_all(view):
    for i in range(3):
        view(record(i), image())
    state = get_json(view.url + "state.json?since=" + "9" * 5000)
    assert state["since"] == 0 and len(state["history"]) == 3


def test_200_simultaneous_image_requests_are_all_answered(view):
    # socketserver's listen queue of 5 left 62 of 200 unanswered after 10 s.
    view(record(0), image(height=256, width=256))
    count = 200
    answers = [None] * count
    ready = threading.Barrier(count)

    def fetch(i):
        ready.wait()
        try:
            with urllib.request.urlopen(view.url + "image.png", timeout=10) as r:
                answers[i] = (r.status, len(r.read()))
        except OSError as error:
            answers[i] = (repr(error), 0)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [a for a in answers if a[0] != 200]
    assert not failed, f"{len(failed)} of {count} unanswered: {failed[:3]}"
    assert len({size for _, size in answers}) == 1


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2"])
def test_other_loopback_hosts_need_no_allow_remote(host):
    with WebView(host, stop=lambda: None) as view:
        assert view.url == f"http://{host}:{view.port}/"


def test_bad_ports_and_hosts_say_what_is_expected():
    with pytest.raises(ValueError, match="port must be an int in 0–65535"):
        WebView(port=70000)
    with pytest.raises(TypeError, match="host must be a str"):
        WebView(host=None)


def test_close_frees_the_port_and_can_be_called_twice(stops):
    view = WebView(stop=lambda: None)
    port = view.port
    view.close()
    view.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 2):
        pass
    assert "closed" in repr(view)


def test_clients_that_go_away_leave_no_traceback_on_stderr(view, capfd):
    view(record(0), image(height=256, width=256))
    for request in (b"GET /image.png HTTP/1.0\r\n\r\n", b"GET /sta", b""):
        client = socket.create_connection(("127.0.0.1", view.port))
        client.sendall(request)
        client.close()
    client = socket.create_connection(("127.0.0.1", view.port))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sendall(b"GET /image.png HTTP/1.0\r\n\r\n")
    client.close()  # a reset, not a clean close
    assert get_json(view.url + "state.json")["iteration"] == 0
    time.sleep(0.2)
    assert capfd.readouterr().err == ""


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers can be set in the main thread only",
)
def test_the_default_stop_refuses_when_this_process_ignores_sigint():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with WebView() as view:
            code, answer = post(view.url + "stop")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 500
    assert "ignores Ctrl-C" in answer["error"]


def start_fake_run(out):
    process = subprocess.Popen(
        [sys.executable, str(FAKE_RUN), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), (url, process.stderr.read())
    return process, url


def test_stop_interrupts_the_main_thread_as_ctrl_c_does(tmp_path):
    out = tmp_path / "stopped.png"
    process, url = start_fake_run(out)
    try:
        deadline = time.monotonic() + 10
        while get_json(url + "state.json")["iteration"] in (None, 0):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert post(url + "stop") == (202, {"stopping": True})
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, stderr
    assert stdout.startswith("interrupted at iteration ")
    assert stderr == ""
    assert load_image(out).shape == (120, 160, 3)
