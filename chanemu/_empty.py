"""``chanemu.Empty``: Go's ``struct{}``, the element type of channels that only signal.

A channel made with ``Chan(n, Empty)`` has zero-size elements (``hchan.elemsize == 0``): like Go's
makechan it allocates no buffer for any capacity, so ``Chan(1 << 60, Empty)`` is as cheap as
``Chan(0, Empty)``; only the count ``qcount`` and the indices move. It accepts only ``Empty()`` and
yields ``Empty()``.
"""


class Empty:
    """``struct{}``: a value with no fields. There is one: every ``Empty()`` is the same object,
    as every ``struct{}{}`` is equal to every other."""
    __slots__ = ()
    _the = None

    def __new__(cls):
        the = Empty._the
        if the is None:
            the = Empty._the = object.__new__(Empty)
        return the

    def __init_subclass__(cls, **kwargs):
        raise TypeError("chanemu.Empty (struct{}) cannot be subclassed")

    def __repr__(self):
        return "Empty()"

    def __str__(self):
        return "{}"          # fmt's %v of struct{}{}

    def __reduce__(self):
        return (Empty, ())


EMPTY = Empty()

# Go accepts make(chan struct{}, n) for any n an int holds: no memory is allocated.
MAX_ZEROSIZE_CAP = (1 << 63) - 1


def check_elem(c, v):
    """A send on a zero-size channel takes only Empty() (Go's compiler checks the type)."""
    if v is not EMPTY:
        raise TypeError(f"cannot use {v!r} (type {type(v).__name__}) as struct{{}} value "
                        f"in send to {c!r}")
