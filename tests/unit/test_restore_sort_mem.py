"""db.restore's index-build memory: bounded by the managed plan's RAM where it is known."""

import pytest

from tasks.core.errors import BadInput
from tasks.db.restore import SORT_MEM_MB, sort_mem_mb


@pytest.mark.parametrize(
    ("plan", "jobs", "mb"),
    [
        (None, 2, SORT_MEM_MB),  # a server of unknown size: as before
        ("db-s-1vcpu-1gb", 2, 128),  # 1024 / (4 x 2)
        ("db-s-1vcpu-1gb", 8, 64),  # never below 64 MB
        ("db-s-1vcpu-2gb", 2, 256),  # the example's production plan
        ("db-s-4vcpu-8gb", 2, 512),  # capped: more memory gains a large sort nothing here
        ("db-s-4vcpu-8gb", 4, 512),
    ],
)
def test_sort_memory_is_a_quarter_of_the_plan_between_the_jobs(plan, jobs, mb):
    assert sort_mem_mb(plan, jobs) == mb
    if plan is not None:  # all concurrent builds together stay within a quarter of RAM
        from tasks.render.sizing import DB_PLANS

        assert jobs * mb <= max(DB_PLANS[plan][1] // 4, jobs * 64)


def test_an_unknown_plan_is_one_error_naming_it():
    with pytest.raises(BadInput, match="db-s-huge"):
        sort_mem_mb("db-s-huge", 2)
