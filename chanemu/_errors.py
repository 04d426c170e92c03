"""Go's panics and fatal errors, shared by both implementations of the core."""


class Panic(Exception):
    """A Go panic. ``str()`` is Go's message exactly, e.g. ``"send on closed channel"``."""


class FatalError(Exception):
    """A Go fatal error (``fatal error: ...``): the program cannot go on.

    ``str()`` is Go's message without the ``fatal error: `` prefix; ``dump`` holds the goroutine
    dump that Go prints after it.
    """

    def __init__(self, msg, dump=""):
        super().__init__(msg)
        self.dump = dump


class Deadlock(FatalError):
    """``all goroutines are asleep - deadlock!``: every goroutine is blocked and nothing can wake one."""


class GoExit(BaseException):
    """Raised by ``runtime.goexit()`` to unwind the calling goroutine (Go's ``runtime.Goexit``).

    A BaseException so that ``except Exception`` in user code does not swallow it.
    """


class Discarded(BaseException):
    """Private: thrown into a goroutine that the program's end discards (chanemu/_lifecycle.py).

    Never seen by user code: every handler of a discarded goroutine is skipped, and run() never
    lets it out.
    """


# Shown as chanemu.Panic, chanemu.Deadlock... in tracebacks: the names users import.
for _cls in (Panic, FatalError, Deadlock):
    _cls.__module__ = "chanemu"
del _cls

# Go's exact strings (runtime/chan.go, select.go, proc.go).
E_MAKECHAN_SIZE = "makechan: size out of range"
E_SEND_CLOSED = "send on closed channel"
E_CLOSE_CLOSED = "close of closed channel"
E_CLOSE_NIL = "close of nil channel"
E_DEADLOCK = "all goroutines are asleep - deadlock!"
E_GOEXIT_DEADLOCK = "no goroutines (main called runtime.Goexit) - deadlock!"
