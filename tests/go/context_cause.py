"""Twin of context_cause.go, on the virtual clock."""
from chanemu import Chan, nilchan, run
from chanemu import context
from chanemu.time import Millisecond


def go_str(v):
    if v is None:
        return "<nil>"
    return str(v).lower() if isinstance(v, bool) else str(v)


def say(*vals):
    print(*(go_str(v) for v in vals))


def main():
    bg = context.background()
    ctx, cancel = context.with_cancel_cause(bg)
    child, stop_child = context.with_cancel(ctx)
    say("before:", ctx.err(), context.cause(ctx))
    cancel(RuntimeError("shutting down"))
    child.done().recv()
    say("after:", ctx.err(), "|", context.cause(ctx), "| child:", child.err(), "|",
        context.cause(child))
    cancel(RuntimeError("again"))
    say("first cause stays:", context.cause(ctx))

    c2, cancel2 = context.with_cancel_cause(bg)
    cancel2(None)
    say("nil cause:", context.cause(c2))

    tctx, tcancel = context.with_timeout_cause(bg, 200 * Millisecond, RuntimeError("too slow"))
    tctx.done().recv()
    say("timeout:", tctx.err(), "|", context.cause(tctx))
    tcancel()

    actx, acancel = context.with_cancel(bg)
    ran = Chan()
    context.after_func(actx, lambda: ran.send("after func ran"))
    stop = context.after_func(actx, lambda: ran.send("BUG: stopped func ran"))
    say("stop:", stop(), stop())
    acancel()
    say(ran.recv())

    vctx = context.with_value(bg, "k", "v")
    pctx, pcancel = context.with_cancel(vctx)
    wctx = context.without_cancel(pctx)
    pcancel()
    _, has_deadline = wctx.deadline()
    say("without cancel:", pctx.err(), wctx.err(), wctx.value("k"), wctx.done() == nilchan,
        has_deadline)
    stop_child()


if __name__ == "__main__":
    run(main, clock="virtual")
