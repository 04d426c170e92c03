"""chanemu.atomic: Go's sync/atomic types.

``Int32``, ``Int64``, ``Uint32``, ``Uint64`` hold a fixed-size integer and wrap around as Go's do
(``Uint32(0).add(-1)`` is 4294967295, Go's ``Add(^uint32(0))``); ``Bool``; ``Value`` (any value,
one concrete type for its life, Go's panics for nil and for a change of type); ``Pointer`` (an
object reference, compared by identity). Every type has ``load``, ``store``, ``swap`` (returns the
old value) and ``compare_and_swap`` (True if it swapped); the integers also ``add`` (returns the
new value) and, as Go 1.23 added, ``and_`` and ``or_`` (return the old value).

Goroutines of one runtime never interleave inside these methods (a goroutine switches only when
it blocks), and one lock makes each operation atomic across threads as well.
"""
import threading

from ._errors import Panic

__all__ = ["Int32", "Int64", "Uint32", "Uint64", "Bool", "Value", "Pointer"]

_lock = threading.Lock()


def _int_arg(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what}: expected an int, not {type(v).__name__}")
    return int(v)


class _Int:
    """A fixed-size integer: BITS wide, SIGNED or not. Stored values must fit; add wraps."""
    __slots__ = ("_v",)
    BITS = 64
    SIGNED = True

    def __init__(self, v=0):
        self._v = self._fit(v, "store")

    @classmethod
    def _bounds(cls):
        if cls.SIGNED:
            return -(1 << (cls.BITS - 1)), (1 << (cls.BITS - 1)) - 1
        return 0, (1 << cls.BITS) - 1

    @classmethod
    def _fit(cls, v, op):
        """v checked to be a value of the type (Go's compiler rejects the others)."""
        v = _int_arg(v, f"{cls.__name__}.{op}")
        lo, hi = cls._bounds()
        if not lo <= v <= hi:
            raise OverflowError(f"{cls.__name__}.{op}: {v} overflows {cls._goname()}")
        return v

    @classmethod
    def _wrap(cls, v):
        """v reduced into the type's range, as Go's fixed-size arithmetic does."""
        v &= (1 << cls.BITS) - 1
        if cls.SIGNED and v >> (cls.BITS - 1):
            v -= 1 << cls.BITS
        return v

    @classmethod
    def _goname(cls):
        return ("int" if cls.SIGNED else "uint") + str(cls.BITS)

    def load(self):
        return self._v

    def store(self, v):
        v = self._fit(v, "store")
        with _lock:
            self._v = v

    def swap(self, new):
        new = self._fit(new, "swap")
        with _lock:
            old, self._v = self._v, new
        return old

    def compare_and_swap(self, old, new):
        new = self._fit(new, "compare_and_swap")
        old = _int_arg(old, f"{type(self).__name__}.compare_and_swap")
        with _lock:
            if self._v != old:
                return False
            self._v = new
            return True

    def add(self, delta):
        """Add delta (any int: a negative delta subtracts, wrapping) and return the new value."""
        delta = _int_arg(delta, f"{type(self).__name__}.add")
        with _lock:
            self._v = v = self._wrap(self._v + delta)
        return v

    def and_(self, mask):
        """Bitwise AND with mask (taken as the type's bits); returns the old value."""
        return self._bitop(mask, "and_", lambda a, b: a & b)

    def or_(self, mask):
        """Bitwise OR with mask (taken as the type's bits); returns the old value."""
        return self._bitop(mask, "or_", lambda a, b: a | b)

    def _bitop(self, mask, name, f):
        mask = self._wrap(_int_arg(mask, f"{type(self).__name__}.{name}"))
        with _lock:
            old = self._v
            self._v = self._wrap(f(old, mask))
        return old

    def __repr__(self):
        return f"<atomic.{type(self).__name__} {self._v}>"


class Int32(_Int):
    """atomic.Int32."""
    __slots__ = ()
    BITS = 32


class Int64(_Int):
    """atomic.Int64."""
    __slots__ = ()


class Uint32(_Int):
    """atomic.Uint32."""
    __slots__ = ()
    BITS = 32
    SIGNED = False


class Uint64(_Int):
    """atomic.Uint64."""
    __slots__ = ()
    SIGNED = False


class Bool:
    """atomic.Bool."""
    __slots__ = ("_v",)

    def __init__(self, v=False):
        self._v = self._fit(v)

    @staticmethod
    def _fit(v):
        if not isinstance(v, bool):
            raise TypeError(f"atomic.Bool holds a bool, not {type(v).__name__}")
        return v

    def load(self):
        return self._v

    def store(self, v):
        v = self._fit(v)
        with _lock:
            self._v = v

    def swap(self, new):
        new = self._fit(new)
        with _lock:
            old, self._v = self._v, new
        return old

    def compare_and_swap(self, old, new):
        new = self._fit(new)
        with _lock:
            if self._v is not old:
                return False
            self._v = new
            return True

    def __repr__(self):
        return f"<atomic.Bool {self._v}>"


class Pointer:
    """atomic.Pointer[T]: an object reference (None is Go's nil), compared by identity."""
    __slots__ = ("_v",)

    def __init__(self, v=None):
        self._v = v

    def load(self):
        return self._v

    def store(self, v):
        with _lock:
            self._v = v

    def swap(self, new):
        with _lock:
            old, self._v = self._v, new
        return old

    def compare_and_swap(self, old, new):
        with _lock:
            if self._v is not old:
                return False
            self._v = new
            return True

    def __repr__(self):
        return f"<atomic.Pointer {self._v!r}>"


class Value:
    """atomic.Value: any value, but one concrete type for the Value's life. ``load()`` is None
    until the first store. Storing None, or a value of another type, panics as in Go."""
    __slots__ = ("_v",)

    def __init__(self):
        self._v = None

    def load(self):
        return self._v

    def _check(self, new, op, what):
        if new is None:
            raise Panic(f"sync/atomic: {op} of nil value into Value")
        if self._v is not None and type(self._v) is not type(new):
            raise Panic(f"sync/atomic: {op} of inconsistently typed {what} into Value")

    def store(self, v):
        with _lock:
            self._check(v, "store", "value")
            self._v = v

    def swap(self, new):
        with _lock:
            self._check(new, "swap", "value")
            old, self._v = self._v, new
        return old

    def compare_and_swap(self, old, new):
        """Swap in new if the current value equals old (same type, ==), as Go's interface
        comparison. The first store happens only for old None."""
        if new is None:
            raise Panic("sync/atomic: compare and swap of nil value into Value")
        if old is not None and type(old) is not type(new):
            raise Panic("sync/atomic: compare and swap of inconsistently typed values")
        with _lock:
            cur = self._v
            if cur is None:
                if old is not None:
                    return False
                self._v = new
                return True
            if type(cur) is not type(new):
                raise Panic("sync/atomic: compare and swap of inconsistently typed value "
                            "into Value")
            if old is None or not _go_equal(cur, old):
                return False
            self._v = new
            return True

    def __repr__(self):
        return f"<atomic.Value {self._v!r}>"


def _go_equal(a, b):
    """Go's == on two interface values: the same dynamic type and equal."""
    return type(a) is type(b) and (a is b or a == b)
