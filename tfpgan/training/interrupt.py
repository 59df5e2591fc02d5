"""Graceful stop on SIGINT/SIGTERM: the loop checks the request, saves a checkpoint and exits."""

from __future__ import annotations

import contextlib
import logging
import signal

logger = logging.getLogger(__name__)


class StopRequest:
    """Callable that turns true once SIGINT or SIGTERM arrived."""

    def __init__(self):
        self.signal_number = 0

    def __call__(self) -> bool:
        return bool(self.signal_number)

    def _handle(self, signum, frame) -> None:
        del frame
        if self.signal_number:  # a second signal: stop now
            raise KeyboardInterrupt
        self.signal_number = signum
        logger.warning("received %s: saving a checkpoint, then stopping (send again to stop at once)",
                        signal.Signals(signum).name)

    @contextlib.contextmanager
    def installed(self):
        """Install the handlers for the duration of the block."""
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
