"""Preemption's one setting, shared by both twins (see chanemu.runtime.set_preemption).

A goroutine that has run ``PREEMPT_NS`` of real time without blocking yields at its next runtime
call, as Go's sysmon asks a long runner to (proc.go's forcePreemptNS). That makes a schedule
depend on the machine's speed, as Go's does; a program that must replay the same choices from a
seed (tests comparing the twins) turns preemption off.
"""
import os

PREEMPT_NS = 10_000_000     # forcePreemptNS: 10 ms
OFF = 1 << 62               # a time slice no program reaches

#: The current time slice (each twin keeps a copy: set_preempt_slice). CHANEMU_PREEMPT=off in
#: the environment starts a process with preemption off (as GODEBUG would).
slice_ns = (OFF if os.environ.get("CHANEMU_PREEMPT", "").strip().lower() in ("0", "off", "false")
            else PREEMPT_NS)
