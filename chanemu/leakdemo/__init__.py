"""``python -m chanemu leak-demo``: the goroutine leak of the seed article, on the emulated runtime.

The article's 30-line Go program, run as written: a channel of capacity 5 whose receiver returns at
once because no exporter is configured (``flag`` is false), and a heartbeat loop that sleeps 500 ms
(``chanemu.time.sleep``), then starts a goroutine to print ``runtime.NumGoroutine()`` and send on
the channel. Once the five slots are full, every heartbeat goroutine parks in ``chansend`` with its
sudog on ``hchan.sendq`` and never wakes: the goroutine count grows by one per heartbeat.

Variants: ``--fixed`` applies the article's fix (do not send when ``flag`` is false), and
``--fixed-ctx`` the fix a Go engineer would write today: the receiver and every heartbeat sender
select on ``ctx.done()``, so cancelling the context at shutdown releases every blocked sender and
``wg.wait()`` returns with nothing left behind.

``--clock virtual`` runs the program on the virtual clock (Go's synctest bubble): the clock stands
still while any goroutine can run and jumps to the next timer when all are blocked, so
``--duration 24h`` (172,800 heartbeats, 172,795 parked senders) takes seconds of wall time, and
the goroutine dump shows the ages Go would show after a day: ``[chan send, 1439 minutes]``.

At the end the demo prints what a Go engineer would look at: the grouped goroutine profile
(``chanemu.pprof.goroutine_profile(debug=1)``, its top groups), the first goroutines of the dump,
the channel (``chanemu.inspect(ch)``), and the detectors' verdicts: ``chanemu.leak.Watch``, which
samples the profile on a runtime timer while the program runs and reports the site whose parked
goroutines keep growing, and ``chanemu.pprof.goroutine_leak_profile()`` (Go 1.26's
``goroutineleak``), which finds none here, as Go's would not: main still holds ``ch``.

``--plot FILE`` writes a PNG of the goroutine count and the RSS over clock time, the program beside
the leaking or fixed one (run alongside in a subprocess of its own, so that each RSS is its own
process's); it needs matplotlib (``pip install 'chanemu[plot]'``).

The package's rooms: ``article.py`` holds the program and its variants (one ``VARIANTS`` table),
``report.py`` the header and the end report, ``plot.py`` the ``--plot`` picture, and ``cli.py``
the command line and ``main``.
"""
from .article import (ARTICLE_GOROUTINES, CAPACITY, LINE_EACH_UP_TO, PROFILE_FRAMES,  # noqa: F401
                      PROFILE_GROUPS, TICK, VARIANTS, WATCH_WINDOW, Result, Variant, program,
                      variant_of)
from .cli import main                                                      # noqa: F401
from .plot import plot_timelines                                           # noqa: F401
from .report import _trim_profile, go_source, header                       # noqa: F401
