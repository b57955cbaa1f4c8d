"""Reaching a Dask cluster: addresses that cannot serve are refused in seconds, with
a message, and a local cluster is never larger than the machine (issue 21, item 10).
"""

import socket
import threading
import time

import pytest

from naah.batch import settings as batch_settings
from naah.batch.settings import WORKER_MEMORY, local_workers, max_local_workers

distributed = pytest.importorskip("distributed")
from naah.batch.cluster import ClusterError, DaskEngine, connect  # noqa: E402


@pytest.fixture
def silent_server():
    """A local TCP server that accepts connections and never says a word: its
    ``tcp://`` address."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    done = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not done.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    done.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture
def closed_port():
    """A ``tcp://`` address where nothing listens: a port bound by this test (so
    that no one else takes it meanwhile) but not listening."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"tcp://127.0.0.1:{bound.getsockname()[1]}"


def test_a_port_that_accepts_and_never_answers_is_refused_after_the_timeout(
    silent_server,
):
    start = time.monotonic()
    with pytest.raises(ClusterError, match="no Dask scheduler answered within 1.5 s"):
        connect(silent_server, timeout=1.5)
    assert 1.4 < time.monotonic() - start < 10


def test_an_engine_on_a_silent_port_is_refused_within_its_timeout(silent_server):
    start = time.monotonic()
    with pytest.raises(ClusterError, match=silent_server):
        DaskEngine.start(silent_server, timeout=1.0)
    assert time.monotonic() - start < 10


def test_a_port_where_nothing_listens_is_refused_at_once(closed_port):
    start = time.monotonic()
    with pytest.raises(ClusterError, match="cannot connect .*start the scheduler"):
        connect(closed_port, timeout=60)
    assert time.monotonic() - start < 5  # not the timeout: at once


def test_the_default_timeout_refuses_within_the_30_seconds_the_issue_asks():
    from naah.batch.cluster import CONNECT_TIMEOUT

    assert 0 < CONNECT_TIMEOUT <= 30


def test_a_running_scheduler_passes_the_checks_and_one_without_workers_says_so(
    monkeypatch,
):
    monkeypatch.setattr("naah.batch.cluster.WORKER_TIMEOUT", 0.5)
    with distributed.LocalCluster(
        n_workers=0, processes=True, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        client = connect(address, timeout=10)
        try:
            assert client.scheduler_info()["address"] == address
            with pytest.raises(ClusterError) as error:
                DaskEngine(client).map_runs([])
            assert str(error.value) == (
                f"no Dask worker joined {address} within 0.5 s; start workers with: "
                f"dask worker {address} --resources naah_job=1"
            )
        finally:
            client.close()


def test_local_workers_are_at_most_one_a_core_and_what_memory_holds():
    assert max_local_workers(cores=16, available=64 * 2**30) == 16
    assert max_local_workers(cores=16, available=3 * WORKER_MEMORY) == 3
    assert max_local_workers(cores=16, available=WORKER_MEMORY // 2) == 1


def test_more_local_workers_than_the_machine_holds_are_refused_before_any_start(
    monkeypatch,
):
    monkeypatch.setattr(batch_settings, "max_local_workers", lambda: 4)

    def no_cluster(*args, **kwargs):
        raise AssertionError("a LocalCluster was started")

    monkeypatch.setattr("naah.batch.cluster.LocalCluster", no_cluster)
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"at most local:4 .*give local:4 or fewer"):
        connect("local:100000")
    with pytest.raises(ValueError, match="at most local:4"):
        connect("local:" + "9" * 5000)  # not int()'s own limit on digits
    assert time.monotonic() - start < 1
    assert local_workers("local:4") == 4
    assert local_workers("tcp://host:8786") is None


@pytest.mark.parametrize("address", ["local:0", "local:²", "local:-1", "local:"])
def test_a_local_count_that_is_not_a_positive_integer_says_so(address):
    with pytest.raises(ValueError, match="local:N must be a positive integer"):
        local_workers(address)


def test_naah_batch_refuses_too_many_local_workers_on_its_command_line(
    inputs, tmp_path, naah
):
    status, stdout, stderr = naah(
        ["batch", "--content", inputs / "contents", "--style", inputs / "styles",
         "--out-dir", tmp_path / "out", "--dask", "local:100000"]
    )  # fmt: skip
    assert status == 2 and stdout == ""
    assert "argument --dask: local:100000 is more worker processes" in stderr
    assert stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
