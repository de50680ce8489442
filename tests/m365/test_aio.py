"""``gather_or_cancel``: a failure cancels the other jobs and waits for them before it is raised."""

from __future__ import annotations

import asyncio

import pytest

from reclaim.aio import gather_or_cancel


def test_results_in_order_when_every_job_succeeds() -> None:
    async def job(n: int) -> int:
        await asyncio.sleep(0.01 * (3 - n))
        return n

    assert asyncio.run(gather_or_cancel(*(job(n) for n in range(3)))) == [0, 1, 2]


def test_the_first_failure_cancels_the_others_and_they_are_finished_when_it_is_raised() -> None:
    state: dict[str, str] = {}

    async def fails() -> int:
        await asyncio.sleep(0.01)
        raise LookupError("the token was refused")

    async def slow(name: str) -> int:
        state[name] = "started"
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # cleaning up (closing a connection) takes a turn of the loop
            state[name] = "cancelled and cleaned up"
            raise
        return 1

    async def main() -> None:
        with pytest.raises(LookupError, match="refused"):
            await gather_or_cancel(slow("a"), fails(), slow("b"))
        # nothing of the other jobs goes on after the caller has failed
        assert state == {"a": "cancelled and cleaned up", "b": "cancelled and cleaned up"}
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())


def test_cancelling_the_caller_cancels_every_job() -> None:
    cancelled: list[int] = []

    async def slow(n: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def main() -> None:
        task = asyncio.ensure_future(gather_or_cancel(slow(1), slow(2)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sorted(cancelled) == [1, 2]

    asyncio.run(main())
