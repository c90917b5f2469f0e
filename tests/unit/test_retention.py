from datetime import UTC, datetime, timedelta

from tasks.core.envconfig import Retention
from tasks.db.retention import plan
from tasks.db.sets import SetInfo, new_id, parse_id


def sets_every(hours: int, count: int, start=datetime(2026, 12, 3, 23, tzinfo=UTC)):
    return [
        SetInfo(
            new_id(start - timedelta(hours=hours * i), None),
            start - timedelta(hours=hours * i),
            None,
        )
        for i in range(count)
    ]


def test_gfs_keeps_one_per_day_week_month():
    sets = sets_every(12, 2 * 400)  # two a day for 400 days
    decisions = plan(sets, Retention(daily=7, weekly=4, monthly=12))
    kept = [d for d in decisions if d.keep]
    days = {d.set.when.date() for d in kept}
    assert len([d for d in kept if any(r.startswith("daily") for r in d.reasons)]) == 7
    assert len([d for d in kept if any(r.startswith("weekly") for r in d.reasons)]) == 4
    assert len([d for d in kept if any(r.startswith("monthly") for r in d.reasons)]) == 12
    assert len(kept) == len(days)  # never two of the same day
    assert decisions[0].keep  # the newest
    gone = [d for d in decisions if not d.keep]
    assert gone and all(d.reasons[0].startswith("outside retention") for d in gone)


def test_newest_verified_survives_even_when_old():
    sets = sets_every(24, 60)
    old = sets[-1]
    old.verified = {"ok": True}
    decisions = {d.set.id: d for d in plan(sets, Retention(daily=3, weekly=0, monthly=0))}
    assert decisions[old.id].keep and "newest verified backup" in decisions[old.id].reasons
    assert sum(d.keep for d in decisions.values()) == 4


def test_zero_policy_keeps_only_newest_verified():
    sets = sets_every(24, 5)
    assert not any(d.keep for d in plan(sets, Retention(0, 0, 0)))


def test_ids_round_trip():
    when = datetime(2026, 12, 3, 10, 11, 12, tzinfo=UTC)
    sid = new_id(when, "Pre Deploy v1.2!")
    assert sid == "20261203T101112Z-pre-deploy-v1.2"
    assert parse_id(sid) == (when, "pre-deploy-v1.2")
    assert parse_id(".partial-20261203T101112Z") is None
