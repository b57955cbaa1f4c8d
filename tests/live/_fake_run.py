"""A stand-in for a run, for the live view's tests: ``python _fake_run.py OUT
[TOKEN]``.

It serves a :class:`naah.live.WebView`, prints its URL, and feeds it a new image
and record every 0.2 s until interrupted; then, as ``naah stylize`` does, it saves
the last image to OUT and exits with status 130. The Stop button's default,
``_thread.interrupt_main``, is what interrupts it.
"""

import signal
import sys
import time

import numpy as np

from naah.io.images import save_image
from naah.live import WebView
from naah.optim import IterationRecord

STEP_SECONDS = 0.2
HEIGHT, WIDTH = 120, 160
EXIT_INTERRUPTED = 130


def colour_at(iteration: int) -> np.ndarray:
    """The image's colour at ``iteration``: its digits in base 6, one per channel,
    so that any two of the first 216 iterations differ by 51 or more in a channel."""
    digits = [(iteration // 6**k) % 6 for k in range(3)]
    return np.array(digits, dtype=np.float32) * 51


def image_at(iteration: int) -> np.ndarray:
    return np.broadcast_to(colour_at(iteration), (HEIGHT, WIDTH, 3)).copy()


def main(out: str, token: str | None = None) -> int:
    # As bin/naah does: Python's own SIGINT handler even if started with SIGINT
    # ignored (a background job), so that interrupt_main raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    view = WebView(token=token)
    print(view.url, flush=True)
    start = time.monotonic()
    iteration, image = 0, image_at(0)
    try:
        while True:
            image = image_at(iteration)
            loss = 1e6 / (iteration + 1)
            record = IterationRecord(
                iteration, loss, loss / 10, loss / 1e3, 0.0,
                time.monotonic() - start, iteration + 1,
            )  # fmt: skip
            view(record, image)
            iteration += 1
            time.sleep(STEP_SECONDS)
    except KeyboardInterrupt:
        save_image(out, image)
        print(f"interrupted at iteration {iteration}", flush=True)
        return EXIT_INTERRUPTED
    finally:
        view.close()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
