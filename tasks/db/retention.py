"""Retention (pure): which sets to keep, grandfather-father-son, and why."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.envconfig import Retention
from .sets import SetInfo


@dataclass(frozen=True)
class Decision:
    set: SetInfo
    keep: bool
    reasons: tuple[str, ...]


def plan(sets: list[SetInfo], keep: Retention) -> list[Decision]:
    # Damaged sets are left for an operator to look at: neither kept nor deleted here.
    newest_first = sorted((s for s in sets if not s.damaged), key=lambda s: s.when, reverse=True)
    reasons: dict[str, list[str]] = {s.id: [] for s in newest_first}
    buckets = (
        ("daily", keep.daily, lambda s: s.when.strftime("%Y-%m-%d")),
        ("weekly", keep.weekly, lambda s: "{}-W{:02d}".format(*s.when.isocalendar()[:2])),
        ("monthly", keep.monthly, lambda s: s.when.strftime("%Y-%m")),
    )
    for kind, n, key in buckets:
        seen: list[str] = []
        for s in newest_first:
            k = key(s)
            if k in seen:
                continue
            if len(seen) >= n:
                break
            seen.append(k)
            reasons[s.id].append(f"{kind} {k}")
    verified = [s for s in newest_first if s.verified]
    if verified:
        reasons[verified[0].id].append("newest verified backup")
    policy = f"outside retention ({keep.daily} daily, {keep.weekly} weekly, {keep.monthly} monthly)"
    return [
        Decision(s, bool(reasons[s.id]), tuple(reasons[s.id]) or (policy,)) for s in newest_first
    ]
