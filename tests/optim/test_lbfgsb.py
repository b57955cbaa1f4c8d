"""naah.optim.lbfgsb: a state is restored only if scipy's setulb can trust it.

setulb (C, scipy >= 1.15) uses the integers of L-BFGS-B's state as offsets and
indices without checking them; garbage there (a crafted checkpoint's ``isave`` or
``iwa``) made ``naah stylize --resume`` die with SIGSEGV. Every state a real run
leaves passes the check, every spoilt field is named, and random garbage never
reaches setulb: the fuzzing runs in a child process, so that a crash fails the test
instead of taking pytest down.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from naah.optim.lbfgsb import LBFGSB, LBFGSBSettings, integer_state_problem

ROOT = Path(__file__).resolve().parents[2]
N = 40
SETTINGS = LBFGSBSettings(m=5)
TARGET = np.linspace(-2.0, 2.0, N)
BOX = (np.full(N, -1.0), np.full(N, 1.0))  # the target's ends lie outside it


def loss_and_grad(x):
    """A quadratic with a coupled term: a few iterations, line searches included."""
    r = x - TARGET
    return float(r @ r + 0.5 * (r[:-1] @ r[1:]) ** 2), 2 * r + (r[:-1] @ r[1:]) * (
        np.r_[r[1:], 0.0] + np.r_[0.0, r[:-1]]
    )


def states_of_a_run(bounds, iterations=12):
    """The state after every iteration and at every evaluation of the line
    searches, as a run leaves them."""
    states = []
    solver = LBFGSB(np.zeros(N), bounds, SETTINGS)

    def watched(x):
        states.append(solver.state())  # waiting for this evaluation
        return loss_and_grad(x)

    states.append(solver.state())
    for _ in range(iterations):
        if not solver.step(watched):
            break
        states.append(solver.state())
    return states


@pytest.mark.parametrize("bounds", [None, BOX], ids=["free", "boxed"])
def test_every_state_a_run_leaves_passes_the_check_and_resumes(bounds):
    states = states_of_a_run(bounds)
    assert len(states) > 20
    for state in states:
        assert integer_state_problem(state, SETTINGS) is None
        LBFGSB.from_state(state, bounds, SETTINGS)  # refuses nothing


@pytest.mark.parametrize(
    "array, index, value, named",
    [
        ("isave", 21 + 5, 10**9, r"head \(isave\) is 1000000000, outside \[0, 4\]"),
        ("isave", 21 + 7, -1, r"itail \(isave\) is -1, outside \[0, 4\]"),
        ("isave", 21 + 6, 6, r"col \(isave\) is 6, outside \[0, 5\]"),
        ("isave", 21 + 9, -3, r"iupdat \(isave\) is -3"),
        ("isave", 21 + 16, N + 1, rf"nfree \(isave\) is {N + 1}, outside \[0, {N}\]"),
        ("isave", 21 + 18, -7, r"ileave \(isave\) is -7"),
        ("isave", 21 + 19, 2**31 - 1, r"nenter \(isave\) is 2147483647"),
        ("isave", 4, 12345, r"isave\[0:16\] is not the partition of the workspace"),
        ("iwa", 3, N, rf"iwa holds a variable index {N} outside \[0, {N}\)"),
        ("iwa", 2 * N + 1, -(2**31), r"iwa holds a variable index -2147483648"),
        ("lsave", 1, 5, r"lsave holds \[.*5.*\], not flags of 0 or 1"),
        ("task", 0, 42, r"task 42 is no status of L-BFGS-B"),
    ],
)
def test_garbage_in_an_integer_that_setulb_indexes_with_is_refused_naming_it(
    array, index, value, named
):
    state = states_of_a_run(BOX)[9]
    state[array][index] = value
    with pytest.raises(ValueError, match=f"L-BFGS-B state is spoilt: {named}"):
        LBFGSB.from_state(state, BOX, SETTINGS)


class Unread:
    """A saved array whose dtype and shape are known; reading it fails the test."""

    def __init__(self, array, shape=None):
        self.dtype, self.shape = array.dtype, shape or array.shape

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("an array was read before the shapes were checked")


def test_a_state_of_the_wrong_size_is_refused_before_any_array_is_read():
    state = {k: Unread(v) for k, v in states_of_a_run(None)[3].items()}
    state["wa"] = Unread(np.zeros(1), (10**10,))  # 80 GB, as listed
    with pytest.raises(ValueError, match=r"array 'wa' is float64\[10000000000\]"):
        LBFGSB.from_state(state, None, SETTINGS)


FUZZ = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tests.optim.test_lbfgsb import BOX, SETTINGS, loss_and_grad, states_of_a_run
    from naah.optim.lbfgsb import LBFGSB

    rng = np.random.default_rng(21)
    states = states_of_a_run(BOX) + states_of_a_run(None)
    extremes = np.array([-2**31, -2**20, -1, 0, 1, 5, 39, 40, 41, 2**20, 2**31 - 1])
    refused = ran = 0
    for case in range(600):
        k = int(rng.integers(len(states)))
        bounds = BOX if k < len(states) // 2 else None
        state = {name: array.copy() for name, array in states[k].items()}
        for _ in range(int(rng.integers(1, 4))):
            name = ("isave", "iwa", "lsave", "task", "ln_task")[rng.integers(5)]
            at = rng.integers(state[name].size)
            value = rng.choice(extremes) if rng.random() < 0.5 else rng.integers(
                -2**31, 2**31)
            state[name][at] = np.int32(value)
        try:
            solver = LBFGSB.from_state(state, bounds, SETTINGS)
        except ValueError:
            refused += 1
            continue
        ran += 1
        for _ in range(3):
            if not solver.step(loss_and_grad):
                break
    print(refused, ran)
    """
)


def test_random_garbage_in_the_integer_state_never_crashes_scipy():
    child = subprocess.run(
        [sys.executable, "-c", FUZZ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,  # where tests.optim is found
        # One BLAS thread: on a busy machine, setulb's small LAPACK calls wait for
        # idle threads (9 ms a call instead of 0.03).
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    refused, ran = map(int, child.stdout.split())
    assert refused + ran == 600 and refused > 300
