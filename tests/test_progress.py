"""Progress: shown when someone watches, compile time apart from the iteration bar,
lines (never redrawn) where nobody watches live."""

import io
import sys
import time
import types
from types import SimpleNamespace

import pytest

from naah import progress
from naah.progress import CompileTimer, RunDisplay, format_duration, interactive, losses


class ZMQInteractiveShell:  # the name Jupyter's kernel shell has
    pass


class TerminalInteractiveShell:  # plain IPython in a terminal
    pass


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def stderr(monkeypatch, tty):
    """Standard error on a terminal (``tty``) or in a log file, outside Jupyter:
    what is written to it. Called in the test itself: pytest sets sys.stderr
    again between the fixtures and the test."""
    monkeypatch.setitem(sys.modules, "IPython", None)
    stream = Stream(tty)
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


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
    stderr(monkeypatch, tty=True)
    display = RunDisplay(total=10, enabled=True)
    time.sleep(0.2)  # "compiling"
    display.update(0)  # the start is evaluated
    compiled_at = time.time()
    display.update(1)
    bar = display._bar
    assert display.timer.seconds >= 0.2
    assert bar.n == 1 and bar.start_t >= compiled_at - 0.01
    display.close()


def test_a_resumed_run_starts_its_bar_at_the_iterations_done(monkeypatch):
    stderr(monkeypatch, tty=True)
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


def test_on_a_terminal_the_bar_labels_the_weighted_total_and_the_unweighted_terms(
    monkeypatch,
):
    terminal = stderr(monkeypatch, tty=True)
    record = SimpleNamespace(total=83800.0, content=2.5, style=83.8, tv=0.0)
    with RunDisplay(total=4, enabled=True, label="scale 2/3 (512 px)") as display:
        display.update(0)
        display.set_postfix_str(losses(record))
        display.update(1)
    shown = terminal.getvalue()
    assert "naah scale 2/3 (512 px): " in shown
    assert "weighted total 8.38e+04 (unweighted: content 2.5, style 83.8)" in shown


def test_the_tv_term_is_shown_unweighted_when_it_is_weighted_in():
    record = SimpleNamespace(total=5.0, content=1.0, style=2.0, tv=2.0, tv_raw=2e6)
    assert losses(record) == (
        "weighted total 5 (unweighted: content 1, style 2, tv 2e+06)"
    )


def test_in_a_log_loading_and_compiling_is_one_line_never_redrawn(monkeypatch):
    log = stderr(monkeypatch, tty=False)
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.001)
    display = RunDisplay(total=3, enabled=True, what="loading and compiling")
    time.sleep(0.05)  # what a terminal's display would redraw some 50 times
    display.update(0)
    for _ in range(3):
        display.update(1)
    display.close()
    written = log.getvalue()
    assert "\r" not in written
    assert written.splitlines()[:2] == [
        "naah: loading and compiling",
        f"naah: compiled in {display.timer.seconds:.1f} s",
    ]
    assert written.count("compil") == 2


def test_in_a_log_the_iterations_are_a_line_every_log_seconds(monkeypatch):
    log = stderr(monkeypatch, tty=False)
    monkeypatch.setattr(progress, "LOG_SECONDS", 0.0)  # a line per iteration
    record = SimpleNamespace(total=10.0, content=1.0, style=0.01, tv=0.0)
    with RunDisplay(
        total=2, enabled=True, what="starting", label="scale 2/2 (64 px)"
    ) as display:
        display.update(0)
        for _ in range(2):
            display.set_postfix_str(losses(record), refresh=False)
            display.update(1)
    lines = log.getvalue().splitlines()
    assert lines[0] == "naah: scale 2/2 (64 px): starting"  # no "compiled in"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "naah: scale 2/2 (64 px): iteration 1/2",
        "naah: scale 2/2 (64 px): iteration 2/2",
    ]
    assert lines[-1].endswith(
        " it/s, weighted total 10 (unweighted: content 1, style 0.01)"
    )


def test_in_a_log_a_run_shorter_than_log_seconds_is_one_line_at_its_end(monkeypatch):
    log = stderr(monkeypatch, tty=False)
    with RunDisplay(total=100, enabled=True, initial=40) as display:
        display.update(0)
        for _ in range(60):
            display.update(1)
    lines = log.getvalue().splitlines()
    assert lines[:2] == [
        "naah: compiling",
        f"naah: compiled in {display.timer.seconds:.1f} s",
    ]
    assert len(lines) == 3 and lines[2].startswith("naah: iteration 100/100, ")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.011, "0.01 s"), (3.7, "3.7 s"), (89, "89 s"), (95, "2 min"), (5400, "1.5 h")],
)
def test_durations_are_given_in_seconds_minutes_or_hours_never_as_zero(seconds, text):
    assert format_duration(seconds) == text
