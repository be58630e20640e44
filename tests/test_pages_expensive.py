"""Every page that runs a job, the gaps download and the maps take a slot and keep to the time budget,
as GraphQL does (`budget.expensive`): with no slot free the answer is "busy, ask again in N seconds",
in the reader's language; past the budget it is "too slow"; neither runs the work to its end."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from directory.base.budget import Slots
from directory.exchange import demo
from directory.store import Store
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio

# each way in to a job, with a question it answers (200) when a slot is free and there is time
EXPENSIVE = [
    ("POST", "/partners", {"country": "UG", "serviceTypes": ["medical-care", "psychosocial-support"]}),
    ("POST", "/gaps", {"region": "region:Americas", "serviceTypes": ["emergency-grant"]}),
    ("POST", "/gaps.csv", {"region": "region:Americas", "serviceTypes": ["emergency-grant"]}),
    ("POST", "/referrals", {"from": "test:fict-lakeside-rights", "serviceType": "safe-house", "country": "TZ",
                            "order": "FASTEST_RESPONSE"}),
    ("GET", "/maps/gaps?serviceTypes=emergency-grant&region=region%3AAmericas", None),
]


async def _ask(client: httpx.AsyncClient, method: str, path: str, data: Any) -> httpx.Response:
    return await (client.post(path, data=data) if method == "POST" else client.get(path))


def _no_slot_frees() -> Slots:
    slots = Slots(1, wait=0.05)
    slots._free = asyncio.Semaphore(0)  # every slot held by others: none frees up within the wait
    return slots


async def test_each_way_in_to_a_job_answers_when_free_is_busy_without_a_slot_and_stops_past_its_time(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    state = live_server.app.state
    free, settings = state.slots, state.settings
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60,
                                 headers={"Accept-Language": "fr"}) as client:
        for method, path, data in EXPENSIVE:
            state.slots, state.settings = free, settings
            assert (await _ask(client, method, path, data)).status_code == 200, path
            assert free.in_use == 0  # given back

            state.slots = _no_slot_frees()
            busy = await _ask(client, method, path, data)
            assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1, path
            if path in ("/partners", "/gaps", "/gaps.csv", "/referrals"):  # a page: in the reader's language
                assert "Merci de reposer la vôtre dans" in busy.text, path
            assert state.slots.busy_answers == 1

            state.slots, state.settings = free, dataclasses.replace(settings, time_budget=0.001)
            slow = await _ask(client, method, path, data)
            assert slow.status_code == 503 and "Retry-After" not in slow.headers, path
            if path in ("/partners", "/gaps", "/gaps.csv", "/referrals"):
                assert "Cette question a pris trop de temps" in slow.text, path
            await asyncio.sleep(0.2)  # a store statement still running keeps its slot until it is done
            assert free.in_use == 0, path
