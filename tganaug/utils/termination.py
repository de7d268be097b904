"""SIGTERM (a batch scheduler's time limit, ``timeout``, ``kill``) turned into an exception that unwinds and cleans up.

The handler raises :class:`Terminated` wherever the main thread is. Third-party code can swallow it: an extension
module's import that the signal interrupts (tifffile's first codec lookup) clears the error and the run would go on
to the end. So the request is also remembered, and long loops (frames rendered, training steps) call
:func:`raise_if_terminated` to raise it again at the next frame or step.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwound and cleaned up like Ctrl-C."""


_requested = threading.Event()


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` when SIGTERM arrived inside :func:`sigterm_as_interrupt` (a no-op otherwise)."""
    if _requested.is_set():
        raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` and is remembered for :func:`raise_if_terminated` (the
    default would end the process at once, leaving staging folders and the records of a run that made nothing);
    the previous handler is restored and the request forgotten after."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers can only be set there
        yield
        return

    def terminate(_signum: int, _frame: object) -> None:
        _requested.set()
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _requested.clear()
