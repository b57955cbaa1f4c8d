"""JupyterView against a stand-in for IPython's display: one image and one loss
output, made once and updated in place; a clear error outside a notebook."""

import base64
import io
import math
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from naah.io.images import to_uint8
from naah.live import JupyterView, NotebookRequiredError, jupyter
from naah.live._state import png_bytes
from naah.optim import IterationRecord

IPython = pytest.importorskip("IPython")
display_module = pytest.importorskip("IPython.display")


def record(iteration):
    return IterationRecord(iteration, 100.0 / (iteration + 1), 1.0, 2.0 ** -iteration,
                           0.0, iteration / 10, iteration + 1)  # fmt: skip


def image(iteration, height=20, width=30):
    return np.full((height, width, 3), (10.0 * iteration) % 256, dtype=np.float32)


class Handle:
    def __init__(self, obj):
        self.shown = [obj]

    def update(self, obj, **kwargs):
        self.shown.append(obj)


@pytest.fixture
def handles(monkeypatch):
    """The outputs the view makes (IPython's display, faked), in order. Drawing
    may take any share of the time (but see the test of MAX_DRAW_SHARE)."""
    monkeypatch.setattr(jupyter, "MAX_DRAW_SHARE", math.inf)
    made = []

    def display(obj, display_id=None, **kwargs):
        assert display_id is True
        made.append(Handle(obj))
        return made[-1]

    kernel_shell = SimpleNamespace(kernel=object())
    monkeypatch.setattr(IPython, "get_ipython", lambda: kernel_shell)
    monkeypatch.setattr(display_module, "display", display)
    return made


def pixels(shown):
    assert isinstance(shown, display_module.Image) and shown.format == "png"
    return np.asarray(Image.open(io.BytesIO(shown.data)).convert("RGB"))


def feed(view, iterations):
    for i in iterations:
        view(record(i), image(i))


def test_it_updates_one_image_and_one_plot_in_place_every_n_iterations(handles):
    view = JupyterView(every=5, min_interval=0)
    feed(view, range(12))

    assert len(handles) == 2  # made at iteration 0, then only updated
    picture, plot = handles
    assert len(picture.shown) == len(plot.shown) == 3  # iterations 0, 5, 10
    np.testing.assert_array_equal(pixels(picture.shown[-1]), to_uint8(image(10)))
    assert pixels(plot.shown[-1]).shape[2] == 3  # a matplotlib PNG


def test_close_draws_the_final_state_once(handles):
    view = JupyterView(every=5, min_interval=0)
    feed(view, range(13))
    view.close()
    view.close()

    picture, plot = handles
    assert len(picture.shown) == len(plot.shown) == 4
    np.testing.assert_array_equal(pixels(picture.shown[-1]), to_uint8(image(12)))


def test_close_after_a_drawn_iteration_draws_nothing_more(handles):
    view = JupyterView(every=5, min_interval=0)
    feed(view, range(11))
    view.close()
    assert len(handles[0].shown) == 3


def test_min_interval_leaves_out_draws_that_come_too_soon(handles):
    view = JupyterView(every=1, min_interval=3600)
    feed(view, range(10))

    assert len(handles[0].shown) == 1  # only iteration 0
    view.close()
    assert len(handles[0].shown) == 2


def test_drawing_takes_at_most_a_twentieth_of_the_run(handles, monkeypatch):
    def slow_png(image):
        time.sleep(0.05)
        return png_bytes(image)

    monkeypatch.setattr(jupyter, "png_bytes", slow_png)
    monkeypatch.setattr(jupyter, "MAX_DRAW_SHARE", 0.05)
    view = JupyterView(every=1, min_interval=0, plot=False)
    feed(view, range(10))  # in far less than 20 x 0.05 s = 1 s

    assert len(handles[0].shown) == 1


def test_without_a_plot_the_losses_are_a_line_of_text(handles):
    view = JupyterView(every=5, min_interval=0, plot=False)
    feed(view, range(6))

    text = handles[1].shown[-1]
    assert isinstance(text, display_module.Pretty)
    assert text.data == "iteration 5: total 16.6667 (content 1, style 0.03125)"


def test_without_matplotlib_the_losses_are_a_line_of_text(handles, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    view = JupyterView(every=1, min_interval=0)
    feed(view, range(2))

    assert handles[1].shown[-1].data.startswith("iteration 1: total 50")


def test_a_second_run_gets_outputs_of_its_own(handles):
    view = JupyterView(every=5, min_interval=0)
    feed(view, range(6))
    feed(view, range(3))

    assert len(handles) == 4
    assert len(handles[2].shown) == 1


def test_zero_losses_plot_without_warnings(handles):
    view = JupyterView(every=1, min_interval=0)
    view(IterationRecord(0, 0.0, 0.0, 0.0, 0.0, 0.0, 1), image(0))
    view(IterationRecord(1, 5.0, 0.0, 5.0, 0.0, 0.1, 2), image(1))
    assert len(handles[1].shown) == 2


def test_every_must_be_a_positive_int(handles):
    for every in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="every must be a positive int"):
            JupyterView(every=every)


def test_outside_a_notebook_it_says_what_to_use_instead(monkeypatch):
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    with pytest.raises(NotebookRequiredError) as raised:
        JupyterView()
    message = str(raised.value)
    assert message.startswith("live=True needs a Jupyter notebook; ")
    assert "plain Python process" in message and "WebView" in message
    assert "--web" in message


def test_in_an_ipython_terminal_it_says_so(monkeypatch):
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace())
    with pytest.raises(NotebookRequiredError, match="an IPython terminal"):
        JupyterView()


def test_without_ipython_it_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    with pytest.raises(NotebookRequiredError, match="IPython is not installed"):
        JupyterView()


def test_the_error_is_a_runtime_error():
    assert issubclass(NotebookRequiredError, RuntimeError)


# A cell that feeds a JupyterView 12 iterations and closes it (run in a kernel).
KERNEL_CELL = """
import numpy as np
from naah.live import JupyterView
from naah.optim import IterationRecord

view = JupyterView(every=5, min_interval=0)
for i in range(13):
    view(IterationRecord(i, 100 / (i + 1), 1.0, 2.0, 0.0, i / 10, i + 1),
         np.full((20, 30, 3), 10.0 * i))
view.close()
"""


@pytest.mark.slow
def test_in_a_real_kernel_the_cell_shows_one_image_and_one_plot(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    # As tests/test_notebooks.py: a kernel of this Python, whatever is installed.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(KERNEL_CELL)])
    this_python = jupyter_client.kernelspec.KernelSpecManager(kernel_dirs=[])
    kernel = jupyter_client.KernelManager(
        kernel_name="python3", kernel_spec_manager=this_python
    )
    nbclient.NotebookClient(notebook, km=kernel, timeout=120).execute(cleanup_kc=True)

    outputs = notebook.cells[0].outputs
    # update_display_data replaced the two outputs' data in place, four times.
    assert [o.output_type for o in outputs] == ["display_data", "display_data"]
    shown = [
        Image.open(io.BytesIO(base64.b64decode(o.data["image/png"]))) for o in outputs
    ]
    np.testing.assert_array_equal(
        np.asarray(shown[0].convert("RGB")), to_uint8(image(12))
    )
    assert shown[1].size[0] > 300  # the loss plot
