"""The interface between a core twin and the layer above it (chanemu/_coreapi.py): both twins
provide exactly the declared names, and the upper layer reaches a twin through it only."""
import pathlib
import re
import types

import pytest

import chanemu
from chanemu import _coreapi

PKG = pathlib.Path(chanemu.__file__).parent


def own_public_names(core):
    """Public functions and classes the twin defines itself (not imported from elsewhere)."""
    out = set()
    for name in dir(core):
        obj = getattr(core, name)
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        mod = getattr(obj, "__module__", None) or ""
        if isinstance(obj, type) or callable(obj):
            if _coreapi.is_core_module(mod):
                out.add(name)
    return out


def test_twin_exports_exactly_the_interface(ce):
    core = ce._impl
    assert set(core.__all__) == _coreapi.NAMES
    missing = [n for n in _coreapi.NAMES if not hasattr(core, n)]
    assert missing == []


def test_twin_adds_no_public_function_or_class(ce):
    core = ce._impl
    # The C twin's compiled helper types (a channel's iterator, select's case record, the
    # directional views ch.send_only()/recv_only() hand out) are module attributes Cython cannot
    # hide; they are not part of the interface. Fiber is what a goroutine runs on (its C stack,
    # CHANEMU_SWITCH=stack), the stack backend's greenlet.
    internal = ({"ChanRange", "scase", "ChanView", "SendOnlyView", "RecvOnlyView", "Fiber"}
                if core.IMPL == "c" else set())
    extra = own_public_names(core) - set(core.__all__) - internal
    assert extra == set()


def test_runtime_and_goroutine_have_the_declared_attributes(ce):
    core = ce._impl
    rt = core.Runtime()
    assert sorted(n for n in _coreapi.RUNTIME_ATTRS if not hasattr(rt, n)) == []

    def main():
        return core.getg()

    g = ce.run(main)
    assert sorted(n for n in _coreapi.GOROUTINE_ATTRS if not hasattr(g, n)) == []


def test_core_of_finds_the_twin(ce):
    core = ce._impl
    assert _coreapi.core_of(core.Runtime()) is core
    assert _coreapi.core_of(ce.Chan()) is core
    assert _coreapi.core_of(object()) is None
    assert core in _coreapi.loaded_cores()


def test_declared_names_match_between_twins():
    from chanemu import _core, _pycore
    assert set(_core.__all__) == set(_pycore.__all__)


UPPER = [p for p in PKG.glob("*.py") if p.name not in ("__init__.py", "_coreapi.py")]


@pytest.mark.parametrize("path", UPPER, ids=lambda p: p.name)
def test_upper_layer_does_not_reach_into_a_twin(path):
    """Above the twins, code goes through chanemu._impl or chanemu/_coreapi.py: no import of a
    twin's inner modules, no choice by a twin's module name."""
    text = path.read_text()
    assert not re.search(r"_pycore\.(proc|chan|select|rand)\b", text)
    assert not re.search(r"from \.?_?pycore|from chanemu\._pycore|import chanemu\._pycore", text)
    assert not re.search(r"""["']chanemu\._(core|pycore)["']""", text)


def test_adopt_current_makes_the_caller_goroutine_1(ce):
    """The primitive the lifecycle makes a thread's default runtime with: the calling greenlet
    becomes goroutine 1, running; a runtime adopts once."""
    core = ce._impl
    rt = core.Runtime()
    g1 = rt.adopt_current()
    try:
        assert (g1.goid, g1.status, g1.runtime, rt.num_goroutine()) == (1, "running", rt, 1)
        assert g1.creation_site is None and g1.created_by is None
        with pytest.raises(RuntimeError):
            rt.adopt_current()
    finally:
        rt.end()
        rt.release()


def test_default_runtime_is_made_by_the_lifecycle(ce, monkeypatch):
    """A thread's first runtime call outside run() makes its default runtime through
    chanemu._lifecycle.default_runtime (written once), which ends it with the thread."""
    import threading

    import greenlet

    from chanemu import _lifecycle
    core = ce._impl
    made = []
    real = _lifecycle.default_runtime

    def spy(twin):
        rt = real(twin)
        made.append((twin, rt))
        return rt
    monkeypatch.setattr(_lifecycle, "default_runtime", spy)
    seen = []

    def body():
        seen.append(core.thread_runtime())
        g = core.getg()
        # goroutine 1 is the thread's own code: its main greenlet, running body
        seen.append((g.goid, g.status, core.thread_runtime(), g.frame.f_code is body.__code__,
                     greenlet.getcurrent().parent is None))
    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen[0] is None
    assert len(made) == 1 and made[0][0] is core
    rt = made[0][1]
    assert seen[1] == (1, "running", rt, True, True)
    assert rt.dead          # ended with its thread


def test_goroutine_handle_views_are_written_once(ce, monkeypatch):
    """What a handle shows beyond its fields (repr, where it was made, a crash's note) comes from
    chanemu/_handle.py on both twins."""
    from chanemu import _handle
    monkeypatch.setattr(_handle, "describe", lambda g: f"described {g.goid}")
    monkeypatch.setattr(_handle, "created_by", lambda gopc: "made here")
    monkeypatch.setattr(_handle, "crash_note", lambda goid, gopc, parent: f"note {goid}")

    def boom():
        raise ValueError("boom")

    def main():
        g = ce.go(lambda: None)
        return repr(g), g.created_by

    assert ce.run(main) == ("described 2", "made here")
    with pytest.raises(ValueError) as ei:
        ce.run(lambda: [ce.go(boom), ce.runtime.gosched()])
    assert ei.value.__notes__ == ["note 2"]
