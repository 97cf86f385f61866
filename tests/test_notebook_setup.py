"""Tests for course_lib.notebook: seeding, the fast flag, plot style and TensorFlow set-up."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import warnings
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

from course_lib import notebook


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Undo setup()'s global changes (rcParams, warning filters) after each test."""
    saved = matplotlib.rcParams.copy()
    with warnings.catch_warnings():
        yield
    matplotlib.rcParams.update(saved)


def _draws(session: notebook.Session) -> tuple[float, float, float]:
    """Return one draw each from Python's, NumPy's global and the session's generator."""
    return random.random(), float(np.random.rand()), float(session.rng.random())


def test_same_seed_gives_same_draws():
    first = _draws(notebook.setup(seed=7))
    second = _draws(notebook.setup(seed=7))
    other = _draws(notebook.setup(seed=8))
    assert first == second
    assert all(a != b for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize(
    ("env", "fast", "expected"),
    [(None, None, False), ("1", None, True), ("0", None, False), ("1", False, False),
     (None, True, True)],
)
def test_fast_flag_resolution(monkeypatch, env, fast, expected):
    if env is None:
        monkeypatch.delenv(notebook.FAST_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(notebook.FAST_ENV_VAR, env)
    assert notebook.setup(fast=fast).fast is expected


def test_repr_is_one_short_line():
    text = repr(notebook.setup(seed=3, fast=True))
    assert "\n" not in text and len(text) < 120
    assert text.startswith("Session(seed=3, fast=True)")
    assert "numpy" in text and "librosa" in text


def test_house_style_is_applied():
    notebook.setup()
    colours = [entry["color"] for entry in matplotlib.rcParams["axes.prop_cycle"]]
    assert colours == list(notebook.PALETTE)
    assert matplotlib.rcParams["image.cmap"] == notebook.SPECTROGRAM_CMAP
    assert matplotlib.rcParams["figure.max_open_warning"] == 0
    assert matplotlib.rcParams["figure.constrained_layout.use"]


def test_known_noisy_warning_is_hidden_but_others_are_not():
    notebook.setup()
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn(
            "KMeans is known to have a memory leak on Windows with MKL", UserWarning, stacklevel=1
        )
        warnings.warn("something students should see", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something students should see"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"seed": -1}, ValueError), ({"seed": 2**32}, ValueError), ({"seed": "0"}, TypeError),
     ({"seed": 1.5}, TypeError), ({"fast": "yes"}, TypeError)],
)
def test_bad_arguments_raise_clear_errors(kwargs, error):
    with pytest.raises(error, match="seed|fast"):
        notebook.setup(**kwargs)


def _run_python(code: str) -> subprocess.CompletedProcess:
    """Return the finished run of ``code`` in a fresh interpreter (global state untouched)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_setup_does_not_import_tensorflow():
    result = _run_python(
        """
        import sys
        from course_lib import notebook
        notebook.setup()
        print("tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


class _FakeThreading:
    """Stands in for ``tf.config.threading``; ``started`` mimics a running TF runtime."""

    def __init__(self, *, current: tuple[int, int], started: bool) -> None:
        self.current, self.started, self.calls = list(current), started, []

    def get_intra_op_parallelism_threads(self) -> int:
        return self.current[0]

    def get_inter_op_parallelism_threads(self) -> int:
        return self.current[1]

    def _set(self, index: int, value: int) -> None:
        if self.started:
            raise RuntimeError("Intra op parallelism cannot be modified after initialization.")
        self.calls.append((index, value))
        self.current[index] = value

    def set_intra_op_parallelism_threads(self, value: int) -> None:
        self._set(0, value)

    def set_inter_op_parallelism_threads(self, value: int) -> None:
        self._set(1, value)


def _fake_tf(threading: _FakeThreading) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(threading=threading))


def test_thread_caps_are_set_before_tensorflow_starts():
    threading = _FakeThreading(current=(0, 0), started=False)
    notebook._cap_tensorflow_threads(_fake_tf(threading))
    assert threading.calls == [(0, 2), (1, 1)]


def test_second_setup_with_running_tensorflow_is_silent():
    threading = _FakeThreading(current=(2, 1), started=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook._cap_tensorflow_threads(_fake_tf(threading))
    assert threading.calls == []


def test_tensorflow_started_elsewhere_gives_a_warning_not_a_crash():
    threading = _FakeThreading(current=(0, 0), started=True)
    with pytest.warns(RuntimeWarning, match="restart the kernel"):
        notebook._cap_tensorflow_threads(_fake_tf(threading))


def test_tensorflow_import_noise_is_filtered_from_stderr(capfd):
    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795261990.858050    8015 port.cc:153] oneDNN custom operations are on.\n"
    )
    with notebook._filtered_stderr(notebook._TF_IMPORT_NOISE):
        os.write(2, (noise + "E0000 a real error stays visible\n").encode())
    err = capfd.readouterr().err
    assert "a real error stays visible" in err
    assert "oneDNN" not in err and "absl::InitializeLog" not in err
