"""Many requests at once, more than the thread pool and the database pool hold."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import anyio
import anyio.to_thread
import httpx2 as httpx
import pytest
from fastapi import FastAPI

from tests.factories import TOKEN_RE

CONCURRENT = 40  # more than the 15 connections of SQLAlchemy's default pool
PAGES = ("/questions/3", "/api/questions/3/demos/1", "/present", "/", "/summary")


async def burst(app: FastAPI, signed_in: bool) -> list[int]:
    """Send the pages all at once through a one-thread pool; return their statuses."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tfquiz") as client,
    ):
        if signed_in:
            token = TOKEN_RE.search((await client.get("/")).text)
            assert token is not None
            form = {"name": "Ada", "csrf_token": token.group(1)}
            assert (await client.post("/start", data=form)).status_code == 200
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        with anyio.fail_after(30):
            responses = await asyncio.gather(
                *(client.get(PAGES[n % len(PAGES)]) for n in range(CONCURRENT))
            )
    return [response.status_code for response in responses]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "learner"])
def test_more_pages_at_once_than_threads_and_connections_are_all_served(
    app: FastAPI, signed_in: bool
) -> None:
    """No request may wait for a thread while it holds a database connection."""
    # A loop of its own, in a thread of its own: browser tests leave one running here.
    with ThreadPoolExecutor(1) as thread:
        statuses = thread.submit(asyncio.run, burst(app, signed_in)).result()
    assert len(statuses) == CONCURRENT
    # 404: a demo that never ran here (a GET never runs one); 303: the summary asks for a name.
    assert set(statuses) <= {200, 303, 404}
    assert statuses.count(200) >= CONCURRENT // 2
