"""time.Duration: an int64 count of nanoseconds, printed and parsed exactly as Go does.

Lives apart from chanemu.time (which re-exports everything here) so the timer code and the
duration arithmetic change independently.

Arithmetic follows Go's int64: results wrap around on overflow, ``//`` and ``%`` truncate toward
zero (Go's ``/`` and ``%`` on integers), while ``/`` is Python's true division (a float). Mixing a
Duration with a float is a TypeError, as Go rejects ``d + 0.5``: it is almost always a duration
in seconds meeting one in nanoseconds.
"""
import operator

__all__ = ["Duration", "Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour",
           "MinDuration", "MaxDuration", "parse_duration", "duration_string"]

_MIN = -(1 << 63)
_MAX = (1 << 63) - 1


def _wrap(n):
    """n as Go's int64 holds it: two's complement wrap-around."""
    return ((n - _MIN) & 0xFFFF_FFFF_FFFF_FFFF) + _MIN


def _operand(op, other):
    """The integer value of the other operand of a Duration operation, or None if unsupported.
    A float is refused loudly: Duration is nanoseconds, a float is usually seconds."""
    if isinstance(other, float):
        raise TypeError(f"unsupported operand for Duration {op} float: a Duration counts "
                        f"nanoseconds; convert explicitly, e.g. Duration(x * Second) "
                        f"or from_seconds(x)")
    if isinstance(other, bool) or not isinstance(other, int):
        return None
    return int(other)


def _quot(a, b):
    """Go's integer division: the quotient truncated toward zero."""
    if b == 0:
        raise ZeroDivisionError("integer divide by zero")
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


class Duration(int):
    """time.Duration: nanoseconds as an int64. ``str()`` and ``repr()`` are Go's ``String()``:
    ``Duration(90 * Minute)`` prints ``1h30m0s``."""
    __slots__ = ()

    def __new__(cls, ns=0):
        if isinstance(ns, float):
            raise TypeError("Duration(x) takes integer nanoseconds; use from_seconds(x) "
                            "for float seconds")
        v = operator.index(ns)
        if not _MIN <= v <= _MAX:
            raise OverflowError(f"{v} overflows Duration (an int64 of nanoseconds)")
        return int.__new__(cls, v)

    # -- Go's methods ------------------------------------------------------------------------
    def __str__(self):
        return duration_string(int(self))

    __repr__ = __str__
    string = __str__

    def nanoseconds(self):
        return int(self)

    def microseconds(self):
        return _quot(int(self), 1_000)

    def milliseconds(self):
        return _quot(int(self), 1_000_000)

    def _in(self, unit):
        # Whole units and the remainder apart, so the float keeps every nanosecond it can.
        whole = _quot(int(self), unit)
        return whole + (int(self) - whole * unit) / unit

    def seconds(self):
        return self._in(1_000_000_000)

    def total_seconds(self):
        """seconds(), under timedelta's name: code that took Time differences as timedeltas
        keeps working."""
        return self.seconds()

    def minutes(self):
        return self._in(60_000_000_000)

    def hours(self):
        return self._in(3_600_000_000_000)

    def truncate(self, m):
        """d rounded toward zero to a multiple of m (d itself if m <= 0)."""
        m = int(m)
        if m <= 0:
            return self
        return Duration(int(self) - _rem(int(self), m))

    def round(self, m):
        """d rounded to the nearest multiple of m, halfway away from zero; saturating at the
        ends of the range (d itself if m <= 0)."""
        m = int(m)
        d = int(self)
        if m <= 0:
            return self
        r = abs(_rem(d, m))
        away = 2 * r >= m           # at least half way to the next multiple
        if d < 0:
            return Duration(max(d - m + r if away else d + r, _MIN))
        return Duration(min(d + m - r if away else d - r, _MAX))

    def abs(self):
        """|d|, with the smallest Duration saturating to the largest (Go's Abs)."""
        d = int(self)
        if d >= 0:
            return self
        return Duration(_MAX if d == _MIN else -d)

    # -- arithmetic that stays a Duration -------------------------------------------------------
    def __add__(self, other):
        o = _operand("+", other)
        return NotImplemented if o is None else Duration(_wrap(int(self) + o))

    __radd__ = __add__

    def __sub__(self, other):
        o = _operand("-", other)
        return NotImplemented if o is None else Duration(_wrap(int(self) - o))

    def __rsub__(self, other):
        o = _operand("-", other)
        return NotImplemented if o is None else Duration(_wrap(o - int(self)))

    def __mul__(self, other):
        o = _operand("*", other)
        return NotImplemented if o is None else Duration(_wrap(int(self) * o))

    __rmul__ = __mul__

    def __floordiv__(self, other):
        o = _operand("//", other)
        return NotImplemented if o is None else Duration(_wrap(_quot(int(self), o)))

    def __rfloordiv__(self, other):
        o = _operand("//", other)
        return NotImplemented if o is None else Duration(_wrap(_quot(o, int(self))))

    def __mod__(self, other):
        o = _operand("%", other)
        return NotImplemented if o is None else Duration(_rem(int(self), o))

    def __rmod__(self, other):
        o = _operand("%", other)
        return NotImplemented if o is None else Duration(_rem(o, int(self)))

    def __truediv__(self, other):
        _operand("/", other)
        return int(self) / other

    def __neg__(self):
        return Duration(_wrap(-int(self)))

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __divmod__(self, other):
        return self // other, self % other

    # Ordering nanoseconds against a float (usually seconds) is refused as arithmetic is; ==
    # stays int's, so a Duration can still be looked up and compared for equality anywhere.
    def _cmp(self, op, other, f):
        if isinstance(other, float):
            _operand(op, other)
        return f(int(self), other)

    def __lt__(self, other):
        return self._cmp("<", other, operator.lt)

    def __le__(self, other):
        return self._cmp("<=", other, operator.le)

    def __gt__(self, other):
        return self._cmp(">", other, operator.gt)

    def __ge__(self, other):
        return self._cmp(">=", other, operator.ge)

    def __reduce__(self):
        return (Duration, (int(self),))


def _rem(a, b):
    """Go's %: the remainder with the sign of the dividend."""
    return a - _quot(a, b) * b


Nanosecond = Duration(1)
Microsecond = Duration(1_000)
Millisecond = Duration(1_000_000)
Second = Duration(1_000_000_000)
Minute = Duration(60 * 1_000_000_000)
Hour = Duration(3600 * 1_000_000_000)
MinDuration = Duration(_MIN)
MaxDuration = Duration(_MAX)


def from_seconds(s):
    """A Duration of s seconds (float or int), rounded to the nanosecond."""
    if isinstance(s, float):
        if s != s:
            raise ValueError("duration is NaN")
        return Duration(max(_MIN, min(_MAX, round(s * 1e9))))
    return Duration(operator.index(s) * 1_000_000_000)


# -- String ---------------------------------------------------------------------------------
def duration_string(ns):
    """Go's Duration.String of ns nanoseconds: 1h2m3.5s, 1.5ms, 800µs, 0s."""
    if ns == 0:
        return "0s"
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            s = f"{u}ns"
        elif u < 1_000_000:
            s = _decimal(u, 3) + "\u00b5s"
        else:
            s = _decimal(u, 6) + "ms"
    else:
        h, rem = divmod(u, 3_600_000_000_000)
        m, rem = divmod(rem, 60_000_000_000)
        s = _decimal(rem, 9) + "s"
        if h:
            s = f"{h}h{m}m{s}"
        elif m:
            s = f"{m}m{s}"
    return "-" + s if ns < 0 else s


def _decimal(v, prec):
    """v / 10**prec in decimal, without trailing zeros in the fraction."""
    whole, frac = divmod(v, 10 ** prec)
    digits = f"{frac:0{prec}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else f"{whole}"


# -- ParseDuration --------------------------------------------------------------------------
_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_LIMIT = 1 << 63         # the magnitude of the most negative Duration


def _go_quote(s):
    """The time package's quoting: ASCII printable kept (with \\" and \\\\), every other byte of
    the UTF-8 as \\xNN."""
    out = ['"']
    for ch in s:
        if ch < " " or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _digits(s, i):
    j = i
    while j < len(s) and "0" <= s[j] <= "9":
        j += 1
    return j


def _leading_int(s, i):
    """The integer at s[i:] and where it ends; None if it exceeds 1<<63 (Go's errLeadingInt)."""
    j = _digits(s, i)
    v = int(s[i:j]) if j > i else 0
    return (None if v > _LIMIT else v), j


def _leading_fraction(s, i):
    """The fraction digits at s[i:] as (value, scale, end). Digits past what an int64 holds are
    dropped, so the fraction keeps its leading digits only, as Go does."""
    j = _digits(s, i)
    x, scale = 0, 1.0
    for k in range(i, j):
        if x > (_LIMIT - 1) // 10:
            break
        y = x * 10 + ord(s[k]) - 48
        if y > _LIMIT:
            break
        x = y
        scale *= 10
    return x, scale, j


def parse_duration(s):
    """time.ParseDuration: "300ms", "-1.5h", "2h45m" -> Duration, exactly as Go computes it
    (fractions of a unit go through a float64, as in Go). Errors are Go's, as ValueError."""
    if not isinstance(s, str):
        raise TypeError(f"parse_duration: expected a str, got {type(s).__name__}")
    orig, i, n = s, 0, len(s)
    invalid = f"time: invalid duration {_go_quote(orig)}"
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        i = 1
    if s[i:] == "0":
        return Duration(0)
    if i == n:
        raise ValueError(invalid)
    total = 0
    while i < n:
        if not (s[i] == "." or "0" <= s[i] <= "9"):
            raise ValueError(invalid)
        v, j = _leading_int(s, i)
        if v is None:
            raise ValueError(invalid)
        pre = j > i
        f, scale, post = 0, 1.0, False
        if j < n and s[j] == ".":
            f, scale, k = _leading_fraction(s, j + 1)
            post = k > j + 1
            j = k
        if not pre and not post:
            raise ValueError(invalid)
        k = j
        while k < n and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == j:
            raise ValueError(f"time: missing unit in duration {_go_quote(orig)}")
        unit = _UNITS.get(s[j:k])
        if unit is None:
            raise ValueError(f"time: unknown unit {_go_quote(s[j:k])} in duration "
                             f"{_go_quote(orig)}")
        i = k
        if v > _LIMIT // unit:
            raise ValueError(invalid)
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))   # Go's float64 step, truncated
            if v > _LIMIT:
                raise ValueError(invalid)
        total += v
        if total > _LIMIT:
            raise ValueError(invalid)
    if neg:
        return Duration(-total)
    if total > _MAX:
        raise ValueError(invalid)
    return Duration(total)
