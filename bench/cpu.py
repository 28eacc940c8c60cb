"""CPU time of a benchmark's processes, read from /proc (Linux).

A rate on a shared machine says how fast this run was; CPU time per job says
what each job costs, and where: the API, PostgreSQL, Redis, the client. The
ratio of the raw baseline's CPU per task to the hub's CPU per job is the best
rate ratio the hub could reach with the cores all to itself.
Processes that exit during a phase take their CPU time with them, so the
groups measured are long-lived ones (servers, pools, this process).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, as they are now."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return out


def _seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def cpu_seconds(roots: Iterable[int]) -> float:
    """User + system CPU seconds of these processes and their descendants."""
    return sum(_seconds(pid) for root in roots for pid in set(_tree(root)))


def trees(roots: Callable[[], Iterable[int]]) -> Callable[[], float]:
    """A group: the process trees under `roots()` (a server and its workers)."""
    return lambda: cpu_seconds(roots())


def this_process() -> Callable[[], float]:
    """A group: this process alone (every thread, none of its child processes)."""
    return lambda: _seconds(os.getpid())


class CpuMeter:
    """CPU seconds per named group over a span: `start()`, then `per_item(n)`."""

    def __init__(self, **groups: Callable[[], float]) -> None:
        self.groups = groups
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: seconds() for name, seconds in self.groups.items()}

    def start(self) -> None:
        self.before = self._now()

    def per_item(self, items: int) -> dict[str, float]:
        """Milliseconds of CPU per item for each group since `start()`, and their total."""
        after = self._now()
        out = {name: round(1000 * (after[name] - self.before[name]) / max(items, 1), 2)
               for name in self.groups}
        out["total"] = round(sum(out.values()), 2)
        return out
