"""The runtime's seedable generator: Go's cheaprand (wyrand on 64-bit) and cheaprandn.

The C twin implements the same arithmetic, so one seed gives one sequence on both.
"""
import os

_M64 = (1 << 64) - 1


class Rand:
    __slots__ = ("state",)

    def __init__(self, seed=None):
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        if isinstance(seed, bool) or not isinstance(seed, int):     # as the C twin
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
        self.state = seed & _M64

    def cheaprand(self):
        """wyrand: seed += 0xa0761d6478bd642f; hi, lo = seed * (seed ^ 0xe7037ed1a0b428db)."""
        self.state = s = (self.state + 0xa0761d6478bd642f) & _M64
        m = s * (s ^ 0xe7037ed1a0b428db)
        return ((m >> 64) ^ m) & 0xFFFFFFFF

    def cheaprandn(self, n):
        """A uniform value in [0, n): Lemire's multiply-shift reduction, as Go does."""
        return (self.cheaprand() * n) >> 32
