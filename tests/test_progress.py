"""Progress: shown when someone watches, compile time apart from the iteration bar."""

import sys
import time
import types

import pytest

from naah.progress import CompileTimer, RunDisplay, interactive


class ZMQInteractiveShell:  # the name Jupyter's kernel shell has
    pass


class TerminalInteractiveShell:  # plain IPython in a terminal
    pass


class Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, text):
        pass

    def flush(self):
        pass


@pytest.mark.parametrize(
    ("shell", "tty", "expected"),
    [
        (ZMQInteractiveShell, False, True),
        (TerminalInteractiveShell, True, True),
        (TerminalInteractiveShell, False, False),
        (None, True, True),
        (None, False, False),
    ],
)
def test_interactive_means_a_notebook_or_a_terminal(monkeypatch, shell, tty, expected):
    fake = types.SimpleNamespace(get_ipython=lambda: shell() if shell else None)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setattr(sys, "stderr", Stream(tty))
    assert interactive() is expected


def test_the_timer_says_how_long_compiling_took(capsys):
    with CompileTimer(enabled=True) as timer:
        time.sleep(0.05)
    err = capsys.readouterr().err
    assert f"naah: compiled in {timer.seconds:.1f} s" in err
    assert timer.seconds >= 0.05


def test_a_failure_while_compiling_is_not_reported_as_compiled(capsys):
    with pytest.raises(KeyError), CompileTimer(enabled=True):
        raise KeyError("x")
    assert "compiled in" not in capsys.readouterr().err


def test_the_bar_starts_after_compiling_so_its_eta_leaves_it_out(monkeypatch):
    display = RunDisplay(total=10, enabled=True)
    time.sleep(0.2)  # "compiling"
    display.update(0)  # the start is evaluated
    compiled_at = time.time()
    display.update(1)
    bar = display._bar
    assert display.timer.seconds >= 0.2
    assert bar.n == 1 and bar.start_t >= compiled_at - 0.01
    display.close()


def test_a_resumed_run_starts_its_bar_at_the_iterations_done():
    display = RunDisplay(total=10, enabled=True, initial=6)
    display.update(1)
    assert display._bar.n == 7
    display.close()


def test_disabled_display_shows_nothing(capsys):
    with RunDisplay(total=3, enabled=False) as display:
        display.update(0)
        display.update(1)
        display.set_postfix(total="1")
    assert capsys.readouterr().err == "" and display._bar is None
