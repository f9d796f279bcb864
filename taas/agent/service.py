"""The agent's loop: reconcile at start, on every "host changed" nudge, and periodically."""
from __future__ import annotations

import logging
import threading

LOG = logging.getLogger(__name__)


class AgentService:
    """Runs Reconciler.reconcile in one thread; nudges that arrive during a pass coalesce.

    Each pass fetches the host's whole desired state, so many nudges need one pass, and a
    lost nudge is repaired by the next periodic pass.
    """

    def __init__(self, reconciler, interval: float):
        self.reconciler = reconciler
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.last_result = None
        self.last_error: Exception | None = None
        self._idle = threading.Condition()

    def start(self) -> "AgentService":
        self._thread = threading.Thread(target=self._run, name=f"taas-agent-{self.reconciler.host}",
                                        daemon=True)
        self._thread.start()
        return self

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wait_for_pass(self, after: int, timeout: float) -> bool:
        """Block until more than `after` passes have finished (for tests and the demo)."""
        with self._idle:
            return self._idle.wait_for(lambda: self.passes > after, timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.last_result = self.reconciler.reconcile()
                self.last_error = None
            except Exception as exc:  # keep the loop alive; the next pass retries
                self.last_error = exc
                LOG.warning("host %s: reconcile failed: %s", self.reconciler.host, exc)
            with self._idle:
                self.passes += 1
                self._idle.notify_all()
            self._wake.wait(self.interval)
