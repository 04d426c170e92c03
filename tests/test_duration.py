"""chanemu.time.Duration against Go's time.Duration.

Property tests: Hypothesis draws int64 values, duration texts built from Go's grammar (and
garbage), and (d, m) pairs; a Go oracle (tests/gooracle/duration_oracle.go), built and started
once per session, answers each with Go 1.26's String, ParseDuration, Round/Truncate/Abs and
Hours/Minutes/Seconds, and ours must agree exactly. Skipped, with the reason, without ``go``.
"""
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings        # noqa: E402
from hypothesis import strategies as st                    # noqa: E402

import chanemu.context                                       # noqa: E402
from chanemu import time as ctime                          # noqa: E402
from test_go_differential import _go_env                    # noqa: E402
from chanemu.time import (Duration, Nanosecond, Microsecond, Millisecond, Second,  # noqa: E402
                          Minute, Hour, MinDuration, MaxDuration, parse_duration)

ORACLE = Path(__file__).parent / "gooracle" / "duration_oracle.go"
INT64 = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
PROPS = settings(max_examples=400, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


class Oracle:
    """One running Go process answering one request per line."""

    def __init__(self, binary):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        self.p = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, encoding="utf-8", env=env)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        assert out, f"the Go oracle died on {line!r}"
        return out.rstrip("\n")

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


@pytest.fixture(scope="session")
def go_duration(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("`go` is not on PATH: the Duration properties are checked against Go")
    src = tmp_path_factory.mktemp("durationoracle")
    shutil.copy(ORACLE, src / "main.go")
    (src / "go.mod").write_text("module durationoracle\n\ngo 1.21\n")
    env = _go_env()
    r = subprocess.run([go, "build", "-o", "oracle", "."], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"go build failed:\n{r.stderr}"
    o = Oracle(src / "oracle")
    yield o
    o.close()


def go_parse(oracle, text):
    ans = oracle.ask("P " + text.encode("utf-8").hex())
    kind, _, rest = ans.partition(" ")
    return (int(rest), None) if kind == "D" else (None, rest)


def our_parse(text):
    try:
        d = parse_duration(text)
    except ValueError as e:
        return None, str(e)
    assert type(d) is Duration
    return int(d), None


# -- texts in (and around) Go's grammar ----------------------------------------------------------
UNITS = st.sampled_from(["ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h"])
DIGITS = st.text("0123456789", max_size=22)
ELEMENT = st.builds(lambda w, dot, f, u: w + (("." + f) if dot else "") + u,
                    DIGITS, st.booleans(), DIGITS, UNITS)
WELLFORMED = st.builds(lambda sign, els: sign + "".join(els),
                       st.sampled_from(["", "", "-", "+"]), st.lists(ELEMENT, min_size=1,
                                                                     max_size=4))
NEAR = st.builds(lambda parts: "".join(parts), st.lists(
    st.sampled_from(["0", "1", "9", ".", "-", "+", "h", "m", "s", "ms", "d", "\u00b5", " ", "x",
                     "92233720368", "54775807", "\"", "\\", "\n"]), max_size=8))
TEXTS = st.one_of(WELLFORMED, NEAR, st.text(max_size=12))


@PROPS
@given(n=INT64)
def test_string_is_gos(go_duration, n):
    assert str(Duration(n)) == go_duration.ask(f"F {n}")
    assert repr(Duration(n)) == str(Duration(n))


@PROPS
@given(text=TEXTS)
def test_parse_duration_is_gos(go_duration, text):
    assert our_parse(text) == go_parse(go_duration, text)


@PROPS
@given(n=INT64)
def test_string_parses_back_exactly(go_duration, n):
    d = Duration(n)
    assert parse_duration(str(d)) == d
    assert go_parse(go_duration, str(d)) == (n, None)


@PROPS
@given(d=INT64, m=st.one_of(INT64, st.sampled_from([1, 7, 1000, 10**9, 3600 * 10**9, 0, -5])))
def test_round_truncate_abs_and_floats_are_gos(go_duration, d, m):
    r, t, a, h, mi, s = go_duration.ask(f"M {d} {m}").split()
    x = Duration(d)
    assert (int(x.round(m)), int(x.truncate(m)), int(abs(x))) == (int(r), int(t), int(a))
    assert (x.hours(), x.minutes(), x.seconds()) == (float(h), float(mi), float(s))


# -- fixed cases ----------------------------------------------------------------------------------
def test_the_issues_examples_are_exact():
    top = parse_duration("2562047h47m16.854775807s")
    assert top == MaxDuration and str(top) == "2562047h47m16.854775807s"
    assert str(parse_duration("4000h0m0.000000001s")) == "4000h0m0.000000001s"
    assert str(MinDuration) == "-2562047h47m16.854775808s"
    assert parse_duration("-2562047h47m16.854775808s") == MinDuration


@pytest.mark.parametrize("text,message", [
    ("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
    ("1\u00b5", 'time: unknown unit "\\xc2\\xb5" in duration "1\\xc2\\xb5"'),
    ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
    ("1.", 'time: missing unit in duration "1."'),
    ("", 'time: invalid duration ""'),
])
def test_parse_errors_are_gos_messages(text, message):
    with pytest.raises(ValueError) as ei:
        parse_duration(text)
    assert str(ei.value) == message


def test_constants_and_arithmetic_stay_durations():
    assert [int(u) for u in (Nanosecond, Microsecond, Millisecond, Second, Minute, Hour)] == [
        1, 10**3, 10**6, 10**9, 60 * 10**9, 3600 * 10**9]
    d = 2 * Second + 500 * Millisecond
    assert type(d) is Duration and str(d) == "2.5s" and repr(d) == "2.5s"
    for v in (d + 1, 1 + d, d - 1, 1 - d, d * 3, 3 * d, d // 2, d % Second, -d, +d, abs(-d)):
        assert type(v) is Duration
    assert d / Second == 2.5 and type(d / Second) is float
    # Go's integer division and remainder truncate toward zero
    assert -7 * Nanosecond // 2 == -3 and -7 * Nanosecond % 2 == -1
    # int64 wrap-around, as Go's arithmetic
    assert MaxDuration + 1 == MinDuration and -MinDuration == MinDuration
    assert MinDuration.abs() == MaxDuration


def test_mixing_with_float_seconds_is_refused():
    for f in (lambda: Second + 0.5, lambda: Second * 1.5, lambda: Second < 1.0,
              lambda: Second >= 0.5, lambda: Duration(1.5)):
        with pytest.raises(TypeError):
            f()
    assert ctime.from_seconds(1.5) == 1500 * Millisecond
    with pytest.raises(OverflowError):
        Duration(1 << 63)


def test_duration_pickles_and_hashes_as_its_int():
    d = 90 * Minute
    assert pickle.loads(pickle.dumps(d)) == d and type(pickle.loads(pickle.dumps(d))) is Duration
    assert hash(d) == hash(int(d)) and {d: 1}[int(d)] == 1


def test_time_functions_take_durations_exactly(ce):
    def main():
        t0 = ctime.now()
        ctime.sleep(1500 * Millisecond + Nanosecond)
        el = ctime.since(t0)
        ctx, cancel = ce.context.with_timeout(ce.context.background(), 3 * Nanosecond)
        ctx.done().recv()
        cancel()
        tm = ctime.Timer(7 * Nanosecond)
        tm.c.recv()
        return el, ctime.since(t0), ctime.now() - t0, t0.add(Hour).sub(t0)

    el, total, diff, hour = ce.run(main, clock="virtual")
    assert type(el) is Duration and el == 1_500_000_001
    assert total == 1_500_000_001 + 3 + 7 and diff == total
    assert hour == Hour and type(hour) is Duration


def test_leak_watch_takes_a_duration_as_what_it_means():
    import chanemu.leak
    assert chanemu.leak.Watch(1500 * Millisecond).interval == 1.5
    assert chanemu.leak.Watch(2).interval == 2.0
