"""What a long-running command does with the heap it built while starting."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Put every object alive now (modules, classes, the agent script, the converters'
    generated code) out of the cyclic collector's reach, for the rest of the process.

    A full collection walks every tracked object: with trio, httpx and cattrs imported
    that is a couple of hundred thousand, tens of milliseconds during which the event
    loop and every handler thread stand still. None of those objects will
    become garbage; frozen, a full collection walks only what was allocated since.
    Garbage made while starting is collected first, so nothing unreachable is kept.
    Call it once, right before serving; objects freed by reference count are unaffected.
    """
    gc.collect()
    gc.freeze()
