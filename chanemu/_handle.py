"""The goroutine handle's views, written once for both twins.

Each twin's ``Goroutine`` is the one handle of a goroutine and keeps its fields where its scheduler
reads them (C struct fields, or slots); what the handle shows of them, beyond a field's plain
value, is computed here: where the goroutine was created, how it reads in a repr, the note a crash
carries. Nothing here is on a hot path: dumps, the leak detector and error messages read it.
"""


def site(gopc):
    """(filename, lineno, function) of a go statement recorded as (code, line, module), or None
    (goroutine 1 has none)."""
    if gopc is None:
        return None
    code, line, mod = gopc
    return (code.co_filename, line, f"{mod}.{code.co_qualname}")


def created_by(gopc):
    """Go's "created by" line: "module.function at file:line", or None."""
    s = site(gopc)
    if s is None:
        return None
    return f"{s[2]} at {s[0]}:{s[1]}"


def describe(g):
    """The handle's repr: its goid, and its wait reason while parked, else its status."""
    return f"<Goroutine {g.goid} [{g.wait_reason or g.status}]>"


def crash_note(goid, gopc, parent_goid):
    """The note an exception that escaped a goroutine carries: which goroutine, made where."""
    s = site(gopc)
    where = (f", created by {s[2]} at {s[0]}:{s[1]} in goroutine {parent_goid}"
             if s is not None else "")
    return f"chanemu: raised in goroutine {goid}{where}"
