"""Builds chanemu._core from src_c/ (Cython, compiled against greenlet's C API).

CHANEMU_DEBUG=1 compiles in invariant checks that run after every channel operation.
"""
import os
import sys

import greenlet
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CHANEMU_DEBUG", "") not in ("", "0")

macros = [("CHANEMU_DEBUG", "1" if DEBUG else "0")]
cflags = ["-O0", "-g"] if DEBUG else ["-O2"]
if sys.platform != "win32":
    # Export PyInit__core alone (CPython marks it visible): stack.c's functions and Cython's
    # own globals stay inside the extension (tests/test_stack_c.py checks with nm -D).
    cflags.append("-fvisibility=hidden")

ext = Extension(
    "chanemu._core",
    # stack.c: goroutine C stacks and the context swap of the stack switch backend
    sources=["src_c/_core.pyx", "src_c/stack.c"],
    include_dirs=["src_c", os.path.dirname(greenlet.__file__)],
    define_macros=macros,
    extra_compile_args=cflags + ["-Wno-unused-function"],
)

setup(
    ext_modules=cythonize(
        [ext],
        compile_time_env={"CHANEMU_DEBUG": DEBUG},
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "always_allow_keywords": False,
            "binding": False,
        },
        # One generated .c per mode: cythonize keeps an up-to-date .c with the macros it was
        # generated for, so a shared one would carry a debug build's flags into a release one.
        build_dir="build/cython-debug" if DEBUG else "build/cython-release",
    ),
)
