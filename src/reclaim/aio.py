"""Small asyncio helpers shared by the client and the jobs that use it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def gather_or_cancel(*jobs: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` whose first failure cancels the other jobs, and waits for them, before it is raised.

    A plain ``gather`` leaves the others running: requests would go on in the background after their caller
    failed, and after the connection they use is closed (a connection opened then is never closed again).
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


__all__ = ["gather_or_cancel"]
