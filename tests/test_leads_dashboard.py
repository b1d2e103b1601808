"""The live dashboard: its numbers, the group message after a submit, and the WebSocket consumer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from annotate.asgi import application
from annotate.leads import selectors
from annotate.leads.live import DASHBOARD_GROUP
from annotate.leads.models import SecondOpinion
from annotate.quality import services as quality
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.queues.services import mix_gold
from tests.factories import make_clip, make_queue, reviewed

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def review(user, queue, text, seconds=10.0):
    return reviewed(user, queue, text, seconds_spent=seconds)


# --- the numbers --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_numbers(reviewer, other_reviewer, lead):
    music = make_queue(reviewer, other_reviewer, name="Music", overlap=2, priority=2, locales=["en-US"])
    weather = make_queue(reviewer, name="Weather", locales=["en-GB"])
    for text in ("play halo", "play yellow", "play hello"):
        make_clip(text)
    make_clip("rain in london", locale="en-GB")
    review(reviewer, music, "play halo", seconds=8)
    review(other_reviewer, music, "play halo", seconds=12)  # agree
    review(reviewer, music, "play yellow", seconds=20)
    review(other_reviewer, music, "play mellow", seconds=30)  # disagree
    claims.claim_next(user=reviewer, queue=music)  # one in review
    gold = make_clip("set a timer", locale="xx-XX")
    quality.add_gold(queue=weather, clip=gold, reference_text="set a timer", lead=lead)
    mix_gold(queue=weather, count=1)
    Task.objects.filter(queue=weather, is_gold=False).delete()
    review(reviewer, weather, "set a time")  # gold: 1 error in 3 words
    assert claims.claim_next(user=reviewer, queue=weather) is None
    SecondOpinion.objects.create(clip=gold, asked_by=reviewer, question="?")
    # A clip reviewed two days ago counts nowhere in the 24-hour numbers.
    Task.objects.filter(annotation__corrected_text="play yellow").update(done_at=timezone.now() - timedelta(days=2))

    data = selectors.dashboard()
    queues = {q["name"]: q for q in data["queues"]}
    assert [q["name"] for q in data["queues"]] == ["Music", "Weather"]  # by priority
    assert queues["Music"]["backlog"] == 1  # "play hello": one slot claimed, one open
    assert queues["Music"]["in_progress"] == 1
    assert queues["Music"]["clips_per_hour"] == 3
    assert queues["Music"]["median_seconds"] == 12.0
    assert queues["Weather"]["clips_per_hour"] == 1
    reviewers = {r["reviewer"]: r for r in data["reviewers"]}
    assert reviewers["rita"]["last_24h"] == 2 and reviewers["ravi"]["last_24h"] == 2
    assert reviewers["rita"]["gold_accuracy"] == 0.667 and reviewers["rita"]["gold_n"] == 1
    assert reviewers["ravi"]["gold_accuracy"] is None
    assert reviewers["rita"]["agreement"] == 0.75 and reviewers["rita"]["agreement_n"] == 2
    assert data["adjudication_waiting"] == 1
    assert data["inbox_open"] == 1
    assert data["totals"] == {"backlog": 1, "last_hour": 4, "last_24h": 4}
    assert len(data["hourly"]) == 24 and sum(h["clips"] for h in data["hourly"]) == 4
    assert {w["model"] for w in data["whisper"]} == {"tiny.en"}
    assert data["flags"]["total"] == 0


@pytest.mark.django_db
def test_the_dashboard_page_carries_its_first_numbers(client, lead):
    make_queue(name="Music")
    client.force_login(lead)
    page = client.get("/lead/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dashboard-data"' in html and "leads/dashboard.js" in html
    assert page.context["snapshot"]["queues"][0]["name"] == "Music"


# --- the group message from the submit path -------------------------------------------------------------


@pytest.mark.django_db
def test_a_submit_tells_the_dashboard_after_commit(reviewer, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = IN_MEMORY
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(DASHBOARD_GROUP, channel)
    queue = make_queue(reviewer)
    make_clip("one")

    async def nothing_yet():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.05)

    with django_capture_on_commit_callbacks() as callbacks:
        review(reviewer, queue, "one")
        async_to_sync(nothing_yet)()  # not before the commit
    assert callbacks
    for callback in callbacks:
        callback()
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "dashboard.changed", "reason": "annotation", "queue_id": queue.pk}


@pytest.mark.django_db
def test_a_broken_channel_layer_never_fails_the_submit(reviewer, settings, monkeypatch, caplog):
    from annotate.leads import live

    class Broken:
        async def group_send(self, *args):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "get_channel_layer", lambda: Broken())
    live.notify_dashboard(reason="annotation")
    assert "could not notify the live dashboard" in caplog.text


# --- the consumer ----------------------------------------------------------------------------------------------


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        (b"origin", b"http://testserver"),
    ]


async def live_dashboard_round(headers, reviewer):
    """The lead connects, a reviewer submits, the lead's numbers change without asking."""
    queue = await database_sync_to_async(make_queue)(reviewer, name="Music")
    await database_sync_to_async(make_clip)("one")
    communicator = WebsocketCommunicator(application, "/ws/lead/dashboard/", headers=headers)
    try:
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_json_from(timeout=5)
        assert first["type"] == "dashboard"
        assert first["data"]["queues"][0]["backlog"] == 1
        await database_sync_to_async(review)(reviewer, queue, "one")
        second = await communicator.receive_json_from(timeout=5)
        assert second["data"]["queues"][0]["backlog"] == 0
        assert second["data"]["totals"]["last_hour"] == 1
        assert second["data"]["reviewers"][0]["reviewer"] == "rita"
        await communicator.send_json_to({"type": "refresh"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "dashboard"
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_updates_live_in_memory(lead, reviewer, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    settings.ANNOTATE_DASHBOARD_THROTTLE_SECONDS = 0
    async_to_sync(live_dashboard_round)(session_headers(lead), reviewer)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_updates_live_through_redis(lead, reviewer, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    settings.ANNOTATE_DASHBOARD_THROTTLE_SECONDS = 0
    async_to_sync(live_dashboard_round)(session_headers(lead), reviewer)


@pytest.mark.django_db(transaction=True)
def test_bursts_of_submits_are_throttled_into_few_refreshes(lead, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    settings.ANNOTATE_DASHBOARD_THROTTLE_SECONDS = 0.3

    headers = session_headers(lead)

    async def burst():
        communicator = WebsocketCommunicator(application, "/ws/lead/dashboard/", headers=headers)
        try:
            assert (await communicator.connect())[0]
            await communicator.receive_json_from(timeout=5)
            layer = get_channel_layer()
            for _ in range(10):
                await layer.group_send(DASHBOARD_GROUP, {"type": "dashboard.changed", "reason": "annotation"})
            await communicator.receive_json_from(timeout=5)
            # Ten changes, at most two refreshes (one now, one for changes during it).
            await asyncio.sleep(0.8)
            extra = 0
            while not await communicator.receive_nothing(timeout=0.1):
                await communicator.receive_json_from()
                extra += 1
            assert extra <= 1
        finally:
            await communicator.disconnect()

    async_to_sync(burst)()


@pytest.mark.parametrize("who", ["reviewer", "officer", "anonymous"])
@pytest.mark.django_db(transaction=True)
def test_only_leads_may_open_the_dashboard_socket(who, reviewer, officer, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    user = {"reviewer": reviewer, "officer": officer, "anonymous": None}[who]
    headers = session_headers(user) if user else [(b"origin", b"http://testserver")]

    async def attempt():
        communicator = WebsocketCommunicator(application, "/ws/lead/dashboard/", headers=headers)
        try:
            connected, _ = await communicator.connect()
            assert not connected
        finally:
            await communicator.disconnect()

    async_to_sync(attempt)()


@pytest.mark.django_db(transaction=True)
def test_a_foreign_origin_is_refused(lead, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    headers = [h for h in session_headers(lead) if h[0] != b"origin"] + [(b"origin", b"http://evil.example")]

    async def attempt():
        communicator = WebsocketCommunicator(application, "/ws/lead/dashboard/", headers=headers)
        try:
            assert not (await communicator.connect())[0]
        finally:
            await communicator.disconnect()

    async_to_sync(attempt)()
