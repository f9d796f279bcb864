"""VM migration: mirroring follows a moved source VM and a moved monitoring VM."""
from __future__ import annotations

import pytest

from tests.integration.conftest import Monitors, mirror
from tests.integration.test_mirroring import A1, A2, echoes, ping

pytestmark = pytest.mark.lab


def test_mirroring_follows_moved_source_and_monitor(cloud, alice):
    mirror(alice, "a1", "mon-r", "OUT")            # a1 on h1 -> monitor on h2
    cloud.lab.move("a1", "h2")                      # source now local to the monitor
    cloud.settle()
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1, dst=A2)) == 5

    cloud.lab.move("mon-r", "h1")                   # monitor moves away from the source
    cloud.settle()
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1, dst=A2)) == 5

    # Nothing is left on the host a1 left: h1 sends no copies of its own.
    cloud.lab.move("a1", "h1")
    cloud.lab.move("mon-r", "h2")
    cloud.settle()
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1, dst=A2)) == 5
