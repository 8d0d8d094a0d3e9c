"""The suite's stand-in for asyncio's debug mode still refuses loop calls from other threads."""

from __future__ import annotations

import asyncio
import threading

import pytest


@pytest.mark.parametrize(
    ("call", "refused"), [("call_soon", "call_soon"), ("call_later", "call_at")]
)
async def test_a_loop_call_from_another_thread_is_refused(call: str, refused: str) -> None:
    loop = asyncio.get_running_loop()
    ran: list[str] = []
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            if call == "call_soon":
                loop.call_soon(ran.append, call)
            else:
                loop.call_later(0, ran.append, call)
        except RuntimeError as err:
            errors.append(err)
        loop.call_soon_threadsafe(ran.append, "threadsafe")

    worker = threading.Thread(target=from_thread)
    worker.start()
    await asyncio.to_thread(worker.join)
    await asyncio.sleep(0)
    expected = f"{refused} called from another thread: use call_soon_threadsafe"
    assert [str(err) for err in errors] == [expected]
    assert ran == ["threadsafe"]


async def test_loop_calls_on_the_loop_thread_run() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(done.set_result, "soon")
    assert await done == "soon"
    later = loop.create_future()
    loop.call_later(0, later.set_result, "later")
    assert await later == "later"
