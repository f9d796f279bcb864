"""Lowest-free id allocation under concurrency: UNIQUE column + savepoint retries."""
from __future__ import annotations

import random
from typing import Callable

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

# After the n-th conflict, pick at random among the SPREAD * 2**n lowest free ids (at most
# MAX_SPREAD): concurrent allocators fan out quickly instead of queueing on the same ids
# (an uncommitted id looks free to everyone else until its owner commits).
SPREAD = 4
MAX_SPREAD = 1024
MAX_ATTEMPTS = 32


class IdsExhausted(Exception):
    """Every id of the range is taken."""


class IdsContended(Exception):
    """Every attempt lost against concurrent allocators; the caller may retry later."""


def _first_free(session: Session, column, low: int, last: int) -> int | None:
    """The smallest unused value of `column` in [low, last], or None (indexed queries)."""
    other = aliased(column.class_)
    other_column = getattr(other, column.key)
    if not session.scalar(select(exists().where(column == low))):
        return low
    # The smallest used value whose successor is unused starts the next hole.
    return session.scalar(
        select(column + 1)
        .where(column.between(low, last - 1))
        .where(~exists().where(other_column == column + 1))
        .order_by(column).limit(1))


def lowest_free(session: Session, column, first: int, last: int, count: int) -> list[int]:
    """Up to `count` lowest unused values of `column` in [first, last]; [] when full."""
    start = _first_free(session, column, first, last)
    while start is not None:
        window_end = min(last, start + count * 4)
        used = set(session.scalars(select(column).where(column.between(start, window_end))))
        free = [i for i in range(start, window_end + 1) if i not in used][:count]
        if free:
            return free
        # Concurrent writers committed the whole window since we found the hole: look
        # further on (each round moves forward, so this ends).
        if window_end >= last:
            return []
        start = _first_free(session, column, window_end + 1, last)
    return []


def allocate(session: Session, column, first: int, last: int,
             insert: Callable[[int], None]) -> int:
    """Call insert(candidate) (which must flush a row using it) until one id sticks.

    The UNIQUE constraint on `column` is the arbiter: a concurrent transaction that took
    the same id makes our flush fail inside a SAVEPOINT, and we try another id. Any other
    integrity error (the candidate is in fact still free) is re-raised.
    """
    for attempt in range(MAX_ATTEMPTS):
        spread = 1 if attempt == 0 else min(SPREAD << attempt, MAX_SPREAD)
        free = lowest_free(session, column, first, last, spread)
        if not free:
            raise IdsExhausted(f"no free id in {first}:{last}")
        candidate = random.choice(free)
        try:
            with session.begin_nested():
                insert(candidate)
        except IntegrityError:
            taken = session.scalar(select(exists().where(column == candidate)))
            if not taken:
                raise
            continue
        return candidate
    raise IdsContended(f"no id of {first}:{last} could be taken in {MAX_ATTEMPTS} attempts")
