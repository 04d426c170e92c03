"""The C extension must really be loaded: a silent fallback to Python would hide every C bug."""
import os
import subprocess
import sys

import chanemu


def test_c_extension_loads():
    from chanemu import _core
    assert _core.IMPL == "c"


def test_default_impl_is_c(tmp_path):
    env = dict(os.environ)
    env.pop("CHANEMU_IMPL", None)
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c",
                          "import chanemu; print(chanemu.IMPL)"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "c"


def test_env_selects_python(tmp_path):
    env = dict(os.environ, CHANEMU_IMPL="python")
    out = subprocess.run([sys.executable, "-c", "import chanemu; print(chanemu.IMPL)"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "python", out.stderr


def test_bad_impl_is_a_clear_error(tmp_path):
    env = dict(os.environ, CHANEMU_IMPL="rust")
    out = subprocess.run([sys.executable, "-c", "import chanemu"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode != 0
    assert "CHANEMU_IMPL must be 'c' or 'python'" in out.stderr


def test_both_twins_same_public_names(ce):
    for n in ("Chan", "nilchan", "go", "run", "Goroutine"):
        assert hasattr(ce, n)
    assert ce.IMPL in ("c", "python")
