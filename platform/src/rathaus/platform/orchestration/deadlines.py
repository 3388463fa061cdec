"""The decision deadline that rests while documents are requested (§ 71b Abs. 4 VwVfG: a
deadline runs from a complete file). Plain arithmetic on seconds, deterministic: the case
workflow keeps one of these and feeds it ``workflow.now()``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RestingClock:
    """Time counted from ``start``, except while resting: a deadline of N seconds falls due
    N seconds of running time after the start. Rests may begin before the start (documents
    requested before the decision was asked for); only the part after the start counts."""

    started: float | None = None
    rested: float = 0.0  # seconds rested since the start, rests that ended
    resting_since: float | None = None

    @property
    def resting(self) -> bool:
        return self.resting_since is not None

    def start(self, at: float) -> None:
        self.started, self.rested = at, 0.0

    def rest(self, at: float) -> bool:
        """Begin a rest; False when already resting."""
        if self.resting_since is not None:
            return False
        self.resting_since = at
        return True

    def resume(self, at: float) -> bool:
        """End the rest; False when not resting."""
        if self.resting_since is None:
            return False
        if self.started is not None:
            self.rested += max(0.0, at - max(self.resting_since, self.started))
        self.resting_since = None
        return True

    def due(self, seconds: float) -> float | None:
        """When a deadline of ``seconds`` running time falls due; None while resting or not started."""
        if self.started is None or self.resting_since is not None:
            return None
        return self.started + self.rested + seconds
