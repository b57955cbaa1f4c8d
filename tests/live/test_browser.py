"""The live page in a real browser: headless Chromium (Debian's ``chromium``; .ci/run
installs it) shows a fake run's image as it changes, and its Stop button ends the
run as Ctrl-C does.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-
pipe``: JSON messages ended by a NUL byte, read on fd 3 and written on fd 4), with
the standard library only: no port, no websocket, no chromedriver whose version
must match the browser's. The fake run (``_fake_run.py``) is a real process, so
Stop takes the real path: ``_thread.interrupt_main`` in its server thread, then
KeyboardInterrupt in its main thread, which saves the image and exits 130.
"""

import base64
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from naah.io.images import load_image
from tests.live._fake_run import colour_at

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None
)
FAKE_RUN = Path(__file__).with_name("_fake_run.py")
WINDOW = (900, 600)
TIMEOUT = 15.0  # seconds for any one step; the whole test takes about 5

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Chromium: apt-get install chromium (.ci/run does)",
    ),
]


# argv: the fd to become 3 (Chromium reads), the fd to become 4 (it writes),
# then Chromium's command line. F_DUPFD first lifts both above 4, so that moving
# one cannot close the other.
MOVE_FDS_AND_EXEC = """
import fcntl, os, sys
high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
for fd in sys.argv[1:3]:
    os.close(int(fd))
for target, fd in zip((3, 4), high):
    os.dup2(fd, target)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class Chromium:
    """A headless Chromium and one page in it, driven over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._events, events_write = os.pipe()
        # Chromium's fds 3 and 4 must be the pipe's ends, but subprocess passes
        # fds only under their own numbers (and preexec_fn is unsafe in a process
        # with threads): a small Python launcher moves them, then execs Chromium.
        launcher = [sys.executable, "-I", "-S", "-c", MOVE_FDS_AND_EXEC,
                    str(commands_read), str(events_write)]  # fmt: skip
        options = [
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",  # containers' /dev/shm is often 64 MB
            "--disable-extensions",
            "--hide-scrollbars",
            "about:blank",
        ]
        if os.geteuid() == 0:
            options.insert(0, "--no-sandbox")  # Chromium refuses root otherwise
        self._log = open(profile / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [*launcher, CHROMIUM, *options],
            pass_fds=(commands_read, events_write),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        os.close(commands_read)
        os.close(events_write)
        self._messages: queue.Queue = queue.Queue()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self) -> None:
        pending = b""
        while chunk := os.read(self._events, 1 << 16):
            pending += chunk
            *messages, pending = pending.split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))
        os.close(self._events)  # Chromium has ended
        self._messages.put(None)

    def send(self, method: str, **params):
        """Send a command (to the page, once attached) and wait for its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._messages.get(timeout=max(deadline - time.monotonic(), 0))
            if reply is None:
                raise AssertionError(f"Chromium ended: {self.log()}")
            if reply.get("id") == self._next_id:  # else an event: not needed
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send(
            "Target.attachToTarget", targetId=target, flatten=True
        )["sessionId"]
        # A fixed viewport of CSS pixels = screenshot pixels, whatever the window.
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WINDOW[0], height=WINDOW[1], deviceScaleFactor=1, mobile=False,
        )  # fmt: skip

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str):
        """Evaluate ``expression`` until it is truthy (an error counts as false:
        the page may still be loading); return its value."""
        guarded = (
            f"(() => {{ try {{ return {expression}; }} catch {{ return null; }} }})()"
        )
        deadline = time.monotonic() + TIMEOUT
        while not (value := self.evaluate(guarded)):
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)
        return value

    def screenshot(self) -> np.ndarray:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind, x=x, y=y, button="left", clickCount=1,
            )  # fmt: skip

    def log(self) -> str:
        self._log.flush()
        return self._log.name + ": " + Path(self._log.name).read_text(errors="replace")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (AssertionError, OSError, queue.Empty):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        self._log.close()


def bounds(browser: Chromium, element: str) -> dict:
    return browser.evaluate(
        f"(() => {{ const r = document.getElementById('{element}')"
        ".getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, "
        "height: r.height}; })()"
    )


def crop(screenshot: np.ndarray, box: dict) -> np.ndarray:
    x, y = round(box["x"]), round(box["y"])
    return screenshot[y : y + round(box["height"]), x : x + round(box["width"])]


IMAGE_ITERATION = "document.getElementById('image').dataset.iteration"
IMAGE_COMPLETE = "document.getElementById('image').complete"


def steady_screenshot(browser: Chromium) -> tuple[int, np.ndarray]:
    """A screenshot and the iteration of the image in it (taken again if the page
    swapped the image meanwhile)."""
    while True:
        browser.wait_for(IMAGE_COMPLETE)
        iteration = browser.evaluate(IMAGE_ITERATION)
        screenshot = browser.screenshot()
        if browser.evaluate(f"{IMAGE_COMPLETE} && {IMAGE_ITERATION}") == iteration:
            return int(iteration), screenshot


@pytest.mark.parametrize("token", [None, "t0ken"], ids=["loopback", "token"])
def test_the_page_shows_the_run_as_it_goes_and_stop_ends_it(tmp_path, token):
    """(With a token, as a view others reach has: the page sends it back.)"""
    out = tmp_path / "stopped.png"
    run = subprocess.Popen(
        [sys.executable, str(FAKE_RUN), str(out), *([token] if token else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    browser = None
    try:
        url = run.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), run.stderr.read()
        assert url.endswith(f"/?token={token}" if token else "/")
        profile = tmp_path / "profile"
        profile.mkdir()
        browser = Chromium(profile)
        browser.open(url)

        browser.wait_for(IMAGE_ITERATION)
        first, before = steady_screenshot(browser)
        box = bounds(browser, "image")
        assert box["width"] >= 256 and box["width"] == 160 / 120 * box["height"]
        assert before.shape == (WINDOW[1], WINDOW[0], 3)
        assert len(np.unique(before.reshape(-1, 3), axis=0)) > 20  # not blank
        assert browser.evaluate("document.getElementById('iteration').textContent")

        browser.wait_for(f"Number({IMAGE_ITERATION}) > {first}")
        second, after = steady_screenshot(browser)
        changed = np.abs(crop(after, box).astype(int) - crop(before, box)).max(axis=2)
        assert (changed > 30).mean() > 0.9, "the image did not change"
        # What the page shows is the run's image of the iteration it says.
        for shot, iteration in ((before, first), (after, second)):
            centre = crop(shot, box)[round(box["height"] / 2), round(box["width"] / 2)]
            np.testing.assert_allclose(centre, colour_at(iteration), atol=3)

        stop = bounds(browser, "stop")
        browser.click(stop["x"] + stop["width"] / 2, stop["y"] + stop["height"] / 2)
        stdout, stderr = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 130, stderr
        assert stdout.startswith("interrupted at iteration "), stdout
        assert stderr == ""
        assert load_image(out).shape == (120, 160, 3)
        browser.wait_for("document.getElementById('status').className === 'gone'")
    finally:
        if browser is not None:
            browser.close()
        run.kill()
        run.wait()
