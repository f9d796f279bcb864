"""The API's collaborators in one place, and the transaction + notification discipline."""
from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Callable, Iterable, Protocol, TypeVar

from sqlalchemy.orm import Session

from taas.api.auth import Authenticator, Caller
from taas.api.errors import forbidden
from taas.api.policy import Policy
from taas.config import Settings
from taas.db import hosts, quotas
from taas.db.engine import Database

LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Notifier(Protocol):
    def hosts_changed(self, hosts: set[str]) -> None:
        """Called after commit with every host whose desired state may have changed."""


class NullNotifier:
    def hosts_changed(self, hosts: set[str]) -> None:
        pass


@dataclasses.dataclass
class OpContext:
    """What one API operation works with, inside one transaction."""
    session: Session
    caller: Caller
    settings: Settings
    policy: Policy
    changed_hosts: set[str] = dataclasses.field(default_factory=set)
    _verdicts: dict = dataclasses.field(default_factory=dict, repr=False)

    def allowed(self, rule: str, target: dict) -> bool:
        """The policy's verdict, memoized for this operation: oslo.policy costs
        milliseconds per call, and a list checks every item."""
        key = (rule, tuple(sorted(target.items())))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self.policy.check(rule, self.caller, target)
        return verdict

    def authorize(self, rule: str, target: dict) -> None:
        """Raise 403 unless the policy allows it."""
        if not self.allowed(rule, target):
            raise forbidden(f"rule:{rule} is disallowed by policy")

    def touch(self, hosts_: Iterable[str | None]) -> None:
        """Record hosts whose desired state this operation changes."""
        self.changed_hosts.update(h for h in hosts_ if h)


class Runtime:
    def __init__(self, settings: Settings, db: Database, policy: Policy,
                 authenticator: Authenticator, notifier: Notifier | None = None):
        self.settings = settings
        self.db = db
        self.policy = policy
        self.authenticator = authenticator
        self.notifier = notifier or NullNotifier()
        self._known_projects: set[str] = set()
        self._lock = threading.Lock()

    def read(self, caller: Caller, fn: Callable[[OpContext], T]) -> T:
        return self.db.read(lambda s: fn(OpContext(s, caller, self.settings, self.policy)))

    def write(self, caller: Caller, fn: Callable[[OpContext], T],
              projects: Iterable[str] = ()) -> T:
        """Run fn in a retried write transaction; bump the generations of the hosts it
        touched in that same transaction, and notify them once it has committed."""
        for project in projects:
            self.ensure_project(project)
        touched: set[str] = set()

        def transaction(session: Session) -> T:
            ctx = OpContext(session, caller, self.settings, self.policy)
            result = fn(ctx)
            hosts.bump_generations(session, ctx.changed_hosts)
            touched.clear()
            touched.update(ctx.changed_hosts)  # only the attempt that commits counts
            return result

        result = self.db.write(transaction)
        if touched:
            self.notify(touched)
        return result

    def ensure_project(self, project_id: str) -> None:
        """Create the project's lock row in its own short transaction, once per process.

        Doing it before the real transaction keeps first creates of a new project from
        racing on the insert while holding other locks (InnoDB would deadlock them).
        """
        with self._lock:
            if project_id in self._known_projects:
                return
        self.db.write(lambda s: quotas.ensure_project(s, project_id))
        with self._lock:
            self._known_projects.add(project_id)

    def notify(self, changed: set[str]) -> None:
        try:
            self.notifier.hosts_changed(set(changed))
        except Exception:  # the change is committed; agents also reconcile periodically
            LOG.exception("notifier failed for hosts %s", sorted(changed))
