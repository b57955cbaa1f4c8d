"""A live view of a run in the browser: a small HTTP server in a daemon thread.

Standard library only (:mod:`http.server`); the page is static HTML with a little
JavaScript (``page.html`` beside this module: nothing from the network). Its
routes:

``GET /``
    The page: the current image, the iteration, the losses and their curve; it
    polls ``/state.json`` about once a second.
``GET /state.json``
    The latest record and the history so far (``?since=N``: from the N-th record;
    anything but a whole number is a JSON 400).
``GET /image.png``
    The latest image as PNG, its iteration in the ``X-Naah-Iteration`` header (any
    query string, e.g. ``?iteration=12``, is ignored: it only defeats caches).
``POST /stop``
    Calls ``stop`` once (by default :func:`_thread.interrupt_main`, which ends the
    run as Ctrl-C does).

Anything else is a JSON 404.

A view that other machines can reach (``allow_remote``) has a random token, as
Jupyter's servers do: its :attr:`WebView.url` carries it (``/?token=…``), the page
sends it back with each request (the ``X-Naah-Token`` header), and any request
without it is a JSON 403, Stop included. On loopback the Host header is checked
instead (a page of another site cannot name this server's host).
"""

from __future__ import annotations

import _thread
import hmac
import ipaddress
import json
import secrets
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np

from naah.live._state import RunProgress, finite_or_none, png_bytes, record_losses

if TYPE_CHECKING:
    from naah.optim.history import IterationRecord

__all__ = ["WebView"]

LOOPBACK_HOST = "127.0.0.1"
# The served PNG is encoded again only when a browser asks, at most this often
# (seconds), and so that encoding takes at most MAX_ENCODE_SHARE of the time: a
# 512x512 PNG takes 50–80 ms (a photograph to the first iterates' noise), in the
# server's thread but on a core the run would use.
IMAGE_INTERVAL = 0.5
MAX_ENCODE_SHARE = 0.05
# Seconds a client may take to send its request before the server hangs up.
REQUEST_TIMEOUT = 10.0
# Connections the kernel queues before the server accepts them. socketserver's
# default, 5, left 62 of 200 simultaneous image requests unanswered after 10 s (the
# kernel drops a SYN past the queue, and the client retries after 1, 3, 7 s); with
# 1024 (capped by net.core.somaxconn) all 200 were answered within 0.7 s.
LISTEN_BACKLOG = 1024
# Bytes of randomness in the token of a view other machines reach (Jupyter: 24).
TOKEN_BYTES = 24
# The request header that carries the token (the page's own requests), or the
# query parameter (the URL printed for a person).
TOKEN_HEADER = "X-Naah-Token"
TOKEN_PARAMETER = "token"
# Digits of the largest ``since`` read as a number; a longer one is past any
# history (and int() of thousands of digits is slow, or refused).
SINCE_DIGITS = 18
# How often (seconds) the server thread checks whether close() asked it to stop.
SHUTDOWN_POLL = 0.1
# Wildcard addresses listen on every interface; the URL then names this machine's
# loopback, which always works from here.
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class WebView:
    """Serve a live view of a run on ``http://HOST:PORT/``, updated every iteration.

    Use it as the ``callback`` of :meth:`naah.StyleTransfer.run`; open :attr:`url`
    in a browser. The page's Stop button calls ``stop`` once: by default
    :func:`_thread.interrupt_main`, which raises KeyboardInterrupt in the main
    thread as Ctrl-C would (when the current evaluation returns to Python), so the
    run ends with :class:`naah.style_transfer.RunInterrupted`, its best image,
    history and checkpoint. That needs Python's own SIGINT handler, which a process
    started with SIGINT ignored does not have: install it with
    ``signal.signal(signal.SIGINT, signal.default_int_handler)`` (``naah`` does).

    Parameters
    ----------
    host : str
        Address to listen on: the loopback ``"127.0.0.1"`` by default, so that only
        this machine can connect. Others (``"0.0.0.0"``: every interface) need
        ``allow_remote=True``.
    port : int
        TCP port; 0 (default) picks a free one (see :attr:`port`).
    allow_remote : bool
        Allow a ``host`` other machines can reach. Every request then needs the
        view's token, which :attr:`url` carries: give that URL only to those who
        may watch the image and stop the run.
    token : str, optional
        The token requests must carry; by default a random one when ``host`` is
        not a loopback address, and none on loopback.
    stop : callable, optional
        Called (with no arguments, in a server thread) by the Stop button.
    image_interval : float
        Encode the served PNG at most every this many seconds (and only when a
        browser asks for it).

    Attributes
    ----------
    host : str
    port : int
        The port listened on (the free one chosen for ``port=0``).
    token : str or None
        What requests must carry (``?token=`` or the ``X-Naah-Token`` header).

    Raises
    ------
    ValueError
        If ``host`` is not a loopback address and ``allow_remote`` is false.
    OSError
        If the address cannot be bound (the port is taken…).

    Examples
    --------
    >>> import json, urllib.request
    >>> import numpy as np
    >>> from naah.optim import IterationRecord
    >>> with WebView(stop=lambda: None) as view:
    ...     view(IterationRecord(0, 10.0, 4.0, 6.0, 0.0, 0.0, 1), np.zeros((4, 6, 3)))
    ...     state = json.load(urllib.request.urlopen(view.url + "state.json"))
    >>> state["iteration"], state["total"], state["image"]
    (0, 10.0, {'width': 6, 'height': 4})

    As the callback of a run (``naah stylize --web`` does this):

    >>> view = WebView()  # doctest: +SKIP
    >>> print(view.url)  # doctest: +SKIP
    http://127.0.0.1:38401/
    >>> result = naah.StyleTransfer().run("c.jpg", "s.jpg", callback=view)  # doctest: +SKIP
    >>> view.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        host: str = LOOPBACK_HOST,
        port: int = 0,
        *,
        allow_remote: bool = False,
        token: str | None = None,
        stop: Callable[[], object] | None = None,
        image_interval: float = IMAGE_INTERVAL,
    ) -> None:
        if not isinstance(host, str):
            raise TypeError(f"host must be a str such as '127.0.0.1', got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 2**16:
            raise ValueError(
                f"port must be an int in 0–65535 (0: a free one), got {port!r}"
            )
        if not is_loopback(host) and not allow_remote:
            raise ValueError(
                f"host {host!r} is not a loopback address: the live view would be "
                "reachable from other machines (anyone given its URL, which holds "
                "its token, could watch the image and stop the run); use "
                "host='127.0.0.1', or pass allow_remote=True (naah stylize --host) "
                "if you mean it"
            )
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError(f"token must be a non-empty str, got {token!r}")
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(TOKEN_BYTES)
        self.token = token
        self._stop = interrupt_main if stop is None else stop
        self._image_interval = float(image_interval)
        self._lock = threading.Lock()  # guards the progress and the stop state
        self._encoding = threading.Lock()  # one PNG encode at a time
        self._progress = RunProgress()
        # The last PNG: its run, iteration, the time.monotonic() before which it
        # is not encoded again, and its bytes.
        self._png: tuple[int, int, float, bytes] | None = None
        self._stopping = False
        self._closed = False
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler, self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._check_host = is_loopback(host)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL},
            name=f"naah-live-web-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:38401/`` (with its token:
        ``http://127.0.0.1:38401/?token=…``)."""
        query = "" if self.token is None else f"?{TOKEN_PARAMETER}={quote(self.token)}"
        return f"http://{self._url_host}:{self.port}/{query}"

    @property
    def _url_host(self) -> str:
        if self.host in WILDCARD_HOSTS:
            return "[::1]" if self.host == "::" else LOOPBACK_HOST
        return f"[{self.host}]" if ":" in self.host else self.host

    def __call__(self, record: IterationRecord, image: np.ndarray) -> None:
        """Keep ``record`` and ``image`` (by reference, not copied) for the page.

        Costs a lock and two assignments; the PNG is made when a browser asks.
        """
        with self._lock:
            self._progress.add(record, image)

    def state(self, since: int = 0) -> dict[str, Any]:
        """What ``/state.json`` serves: the latest record, the history from record
        ``since`` on (all of it if ``since`` is past the end), the image's size."""
        with self._lock:
            records = list(self._progress.records)
            image = self._progress.image
            stopping, run = self._stopping, self._progress.run
        since = since if 0 <= since <= len(records) else 0
        latest: dict[str, Any] = {}
        if records:
            last = records[-1]
            latest = record_losses(last)
            latest.update(
                tv=finite_or_none(last.tv),
                time=last.time,
                evaluations=last.evaluations,
                scale=last.scale,
            )
        return {
            "status": "stopping" if stopping else "running" if records else "waiting",
            "run": run,
            "iteration": None,
            **latest,
            "image": None
            if image is None
            else {"width": image.shape[1], "height": image.shape[0]},
            "since": since,
            "history": [record_losses(r) for r in records[since:]],
        }

    def png(self) -> bytes | None:
        """The latest image as PNG bytes (None before the first iteration).

        The last encoding is reused while it is of the latest iteration, younger
        than ``image_interval``, or younger than 20 times what it took to make
        (so that encoding costs at most 5 % of the time, ``MAX_ENCODE_SHARE``).
        """
        encoded = self._encoded()
        return None if encoded is None else encoded[1]

    def _encoded(self) -> tuple[int, bytes] | None:
        """The iteration of the PNG that :meth:`png` returns, and the PNG."""
        with self._encoding:
            with self._lock:
                image, latest = self._progress.image, self._progress.latest
                run, cached = self._progress.run, self._png
            if image is None or latest is None:
                return None
            start = time.monotonic()
            if cached is not None and cached[0] == run:
                if cached[1] == latest.iteration or start < cached[2]:
                    return cached[1], cached[3]
            data = png_bytes(image)
            spent = time.monotonic() - start
            wait = max(self._image_interval, spent / MAX_ENCODE_SHARE)
            self._png = (run, latest.iteration, start + wait, data)
            return latest.iteration, data

    def request_stop(self) -> dict[str, Any]:
        """Call ``stop`` unless it was called already (what ``POST /stop`` does).

        Raises whatever ``stop`` raises; then a later request tries again.
        """
        with self._lock:
            if self._closed:
                return {"stopping": False, "error": "the run has ended"}
            first, self._stopping = not self._stopping, True
        if first:
            try:
                self._stop()
            except BaseException:
                with self._lock:
                    self._stopping = False
                raise
        return {"stopping": True}

    def allowed_token(self, given: str | None) -> bool:
        """Whether a request carries the view's token (any does without one)."""
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(
            given.encode(), self.token.encode()
        )

    def allowed_host(self, host_header: str | None) -> bool:
        """Whether a request's Host header names this server (when it listens on
        loopback only): a page of another site that a DNS trick points at
        127.0.0.1 names its own host, and is refused."""
        if not self._check_host:
            return True
        names = {*LOOPBACK_NAMES, self._url_host}
        allowed = {f"{name}:{self.port}".lower() for name in names}
        return (host_header or "").strip().lower() in allowed

    def close(self) -> None:
        """Stop serving and free the port (the open page then says so); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> WebView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving"
        return f"<WebView {state} {self.url}>"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1).

    Examples
    --------
    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")]
    [True, True, True, False, False]
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def interrupt_main() -> None:
    """Raise KeyboardInterrupt in the main thread, as Ctrl-C does (the default
    ``stop`` of :class:`WebView`).

    Raises
    ------
    RuntimeError
        If SIGINT is not handled by Python in this process (ignored, or left to
        the system), where :func:`_thread.interrupt_main` would do nothing.
    """
    if not callable(signal.getsignal(signal.SIGINT)):
        raise RuntimeError(
            "cannot stop the run: this process ignores Ctrl-C (SIGINT); start it "
            "with signal.signal(signal.SIGINT, signal.default_int_handler), or "
            "give WebView a stop= function"
        )
    _thread.interrupt_main()


_PAGE = resources.files(__package__).joinpath("page.html")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        view: WebView,
    ) -> None:
        self.view = view
        self.page = _PAGE.read_bytes()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (socket.getfqdn), which
        # can take seconds without a DNS server; the name is never used.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.port

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser that closes the page mid-response is no error; anything else
        # is one line, not a traceback over the run's progress bar.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        sys.stderr.write(f"naah live view: error serving a request: {error!r}\n")


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT
    server_version = "naah-live"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing (the default writes every request to stderr)."""

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Errors as JSON (the default is an HTML page)."""
        status = HTTPStatus(code)
        self._send_json({"error": message or status.phrase}, status)

    def _route(self, method: str) -> None:
        view = self.server.view
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        token = self.headers.get(TOKEN_HEADER) or query.get(TOKEN_PARAMETER, [None])[0]
        try:
            if not view.allowed_host(self.headers.get("Host")):
                self._send_json({"error": "unknown Host"}, HTTPStatus.FORBIDDEN)
            elif not view.allowed_token(token):
                self._send_json(
                    {
                        "error": "this live view needs its token: open the URL "
                        "that naah printed (it ends in ?token=…)"
                    },
                    HTTPStatus.FORBIDDEN,
                )
            elif url.path == "/stop":
                self._stop(method)
            elif method == "POST":
                self._not_found(url.path)
            elif url.path in ("/", "/index.html"):
                self._send(self.server.page, "text/html; charset=utf-8")
            elif url.path == "/state.json":
                self._state(query.get("since", ["0"])[0])
            elif url.path == "/image.png":
                self._image()
            else:
                self._not_found(url.path)
        except OSError:
            raise  # the client went away: handle_error stays quiet
        except Exception as error:
            self._send_json(
                {"error": f"{type(error).__name__}: {error}"},
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )

    def _stop(self, method: str) -> None:
        if method != "POST":
            self._send_json(
                {"error": "POST to /stop to stop the run"},
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"Allow": "POST"},
            )
            return
        self._discard_body()
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host')}":
            self._send_json(
                {"error": "cross-origin stop refused"}, HTTPStatus.FORBIDDEN
            )
            return
        answer = self.server.view.request_stop()
        status = HTTPStatus.ACCEPTED if answer["stopping"] else HTTPStatus.CONFLICT
        self._send_json(answer, status)

    def _state(self, since: str) -> None:
        if not (since.isascii() and since.isdigit()):
            self._send_json(
                {
                    "error": f"since must be a record number (0, 1, …), got {since[:20]!r}"
                },
                HTTPStatus.BAD_REQUEST,
            )
            return
        # A number too long to be a record's is past the history's end.
        past_any = len(since.lstrip("0")) > SINCE_DIGITS
        self._send_json(self.server.view.state(sys.maxsize if past_any else int(since)))

    def _image(self) -> None:
        encoded = self.server.view._encoded()
        if encoded is None:
            self._send_json({"error": "no image yet"}, HTTPStatus.NOT_FOUND)
        else:
            iteration, data = encoded
            self._send(data, "image/png", headers={"X-Naah-Iteration": str(iteration)})

    def _not_found(self, path: str) -> None:
        self._send_json({"error": "not found", "path": path}, HTTPStatus.NOT_FOUND)

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) > 0:
            self.rfile.read(min(int(length), 1 << 16))

    def _send_json(
        self,
        value: object,
        status: HTTPStatus = HTTPStatus.OK,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(value, allow_nan=False).encode()
        self._send(body, "application/json", status, headers)

    def _send(
        self,
        body: bytes,
        content_type: str,
        status: HTTPStatus = HTTPStatus.OK,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
