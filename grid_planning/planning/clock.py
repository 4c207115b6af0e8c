"""The planner's clock: a refusal's stages are timed in the planning thread's CPU seconds.

A heuristic's refusal is settled by the stages of :mod:`grid_planning.planning.fallback` (bounds,
the wider search, cross-sections, skeleton trials, recombination, the exact program), which share
:data:`grid_planning.planning.run.FALLBACK_SECONDS`.
Timed on the wall clock, a loaded server gave each stage less work than a quiet machine did, and
could refuse "not found" where a quiet one plans: strip-300u-k7-corners8-15%-s5002 is planned at
the wider search's 226th trial, 8.8 s on a quiet machine, and was refused at a load of 4-8 (issue
15). Timed in the thread's CPU seconds (``time.thread_time``), each stage does the same work
wherever it runs, so a request gets the same answer on a loaded server as on a quiet one, up to the
noise of CPU time itself (a few per cent).

The wall clock still caps every budget at :data:`WALL_FACTOR` times its seconds, so a starved server
answers in bounded time; a refusal then says "not found" with the seconds it took, which is
true. HiGHS counts its own ``time_limit`` on the wall clock: :meth:`Budget.limit` gives it the wall
cap as that limit and interrupts it from a callback when the CPU budget is spent (HiGHS runs in
the calling thread here: every program sets ``threads`` to 1).
"""

from __future__ import annotations

import math
import time

import highspy

#: A budget of ``s`` seconds ends after ``s`` CPU seconds of the planning thread, or after
#: ``WALL_FACTOR * s`` seconds on the wall clock, whichever comes first (20 s: at most a minute).
WALL_FACTOR = 3.0

_INTERRUPTS = (
    highspy.cb.HighsCallbackType.kCallbackMipInterrupt,
    highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt,
    highspy.cb.HighsCallbackType.kCallbackIpmInterrupt,
)


class Budget:
    """``seconds`` of planning from now: CPU seconds of the calling thread, capped on the wall
    clock at :data:`WALL_FACTOR` times as many (``math.inf``: no end).

    Parameters
    ----------
    seconds : float
        The budget's length.

    Examples
    --------
    >>> b = Budget(2.0)
    >>> b.over(), 1.9 < b.left() <= 2.0
    (False, True)
    """

    __slots__ = ("seconds", "_cpu0", "_wall0")

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self._cpu0 = time.thread_time()
        self._wall0 = time.perf_counter()

    def spent(self) -> float:
        """Seconds spent: the thread's CPU seconds, or the wall clock's over :data:`WALL_FACTOR`
        when that is more."""
        wall = (time.perf_counter() - self._wall0) / WALL_FACTOR
        return max(time.thread_time() - self._cpu0, wall)

    def left(self) -> float:
        """Seconds left (negative once spent)."""
        return self.seconds - self.spent()

    def over(self) -> bool:
        """Whether the budget is spent."""
        return self.left() <= 0

    def limit(self, h) -> None:
        """Bound the HiGHS instance ``h``'s next runs by what is left of this budget: its
        ``time_limit`` (a wall-clock limit) at the wall cap, and an interrupt from HiGHS's
        callbacks when the CPU seconds are spent (at least 0.01 s, as the programs asked
        before)."""
        if math.isinf(self.seconds):
            return
        wall_left = WALL_FACTOR * self.seconds - (time.perf_counter() - self._wall0)
        h.setOptionValue("time_limit", float(max(wall_left, 0.01)))
        end = max(self._cpu0 + self.seconds, time.thread_time() + 0.01)

        def interrupt(kind, message, out, into, data) -> None:
            if time.thread_time() > end:
                into.user_interrupt = True

        h.setCallback(interrupt, None)
        for kind in _INTERRUPTS:
            h.startCallback(kind)


#: A budget that never ends (the default where a caller sets none).
NEVER = Budget(math.inf)
