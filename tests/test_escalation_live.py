"""The officer console's feed (ws/cases/) through the real ASGI application.

Each test runs on the in-memory channel layer and on Redis (marked `redis`:
skipped without REDIS_URL, required in CI). Sessions come from a real sign-in,
so AuthMiddlewareStack and the origin check are part of what is tested.
Communicators are always disconnected.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core import mail
from django.test import Client

from annotate.asgi import application
from annotate.escalation import notify, services
from annotate.escalation.models import Case
from tests.factories import flag_task, held_clip, move
from tests.support import CANARY

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def layer(request, settings):
    """The channel layer under test. In memory, jobs (the officers' e-mail) run in process."""
    if request.param == "memory":
        settings.REDIS_URL = ""
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        request.getfixturevalue("rq_queues")  # the e-mail job goes to RQ: emptied after the test
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": "annotate-test"},
            }
        }
    assert get_channel_layer() is not None
    return request.param


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(user=None, *, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if user is not None:
        headers.append((b"cookie", session_cookie(user)))
    return WebsocketCommunicator(application, "/ws/cases/", headers=headers)


async def receive_until(comm: WebsocketCommunicator, kind: str, timeout: float = 3) -> dict:
    """The next message of `kind` (others, e.g. a notification of an earlier change, are passed over)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await comm.receive_json_from(timeout=max(left, 0.01))
        if message["type"] == kind:
            return message


def test_an_officer_connects_and_gets_the_open_cases(layer, officer, reviewer, queue):
    case = flag_task(reviewer, held_clip(reviewer, queue, with_audio=False)).case
    comm = communicator(officer)

    @async_to_sync
    async def run():
        try:
            connected, _ = await comm.connect()
            assert connected
            hello = await comm.receive_json_from(timeout=3)
            assert hello["type"] == "hello"
            assert [c["id"] for c in hello["cases"]] == [case.pk]
            assert hello["cases"][0]["severity"] == "critical"
        finally:
            await comm.disconnect()

    run()


@pytest.mark.parametrize("who", ["reviewer", "lead", "admin_user", "anonymous"])
def test_everyone_but_officers_is_refused(layer, request, who):
    comm = communicator(None if who == "anonymous" else request.getfixturevalue(who))

    @async_to_sync
    async def run():
        try:
            connected, code = await comm.connect()
            assert not connected
            assert code == 4403
        finally:
            await comm.disconnect()

    run()


def test_a_foreign_origin_is_refused(layer, officer):
    comm = communicator(officer, origin=(b"origin", b"https://evil.example"))

    @async_to_sync
    async def run():
        try:
            connected, _ = await comm.connect()
            assert not connected
        finally:
            await comm.disconnect()

    run()


def test_a_flag_reaches_every_officer_console_at_once(layer, officer, second_officer, reviewer, queue):
    consoles = [communicator(officer), communicator(second_officer)]
    task = held_clip(reviewer, queue, with_audio=False)

    @async_to_sync
    async def run():
        try:
            for comm in consoles:
                assert (await comm.connect())[0]
                assert (await comm.receive_json_from(timeout=3))["type"] == "hello"
            flag = await sync_to_async(flag_task)(reviewer, task, category="sexual_assault", note="screams")
            for comm in consoles:
                message = await receive_until(comm, "case.new")
                assert message["case"]["id"] == flag.case_id
                assert message["case"]["category_label"] == "sexual assault"
                assert message["case"]["state"] == "new" and message["case"]["due_at"]
                assert "screams" not in str(message) and not CANARY.found_in(str(message))
        finally:
            for comm in consoles:
                await comm.disconnect()

    run()


def test_steps_and_overdue_cases_are_pushed(layer, officer, reviewer, queue):
    comm = communicator(officer)
    task = held_clip(reviewer, queue, with_audio=False)

    @async_to_sync
    async def run():
        try:
            assert (await comm.connect())[0]
            await comm.receive_json_from(timeout=3)
            case = (await sync_to_async(flag_task)(reviewer, task)).case
            await receive_until(comm, "case.new")
            await sync_to_async(move)(case, Case.State.ACKNOWLEDGED, officer)
            updated = await receive_until(comm, "case.updated")
            assert updated["case"]["state"] == "acknowledged" and updated["case"]["owner"] == officer.username

            await sync_to_async(lambda: Case.objects.filter(pk=case.pk).update(due_at=case.opened_at))()
            assert await sync_to_async(services.notify_overdue)() == [case.pk]
            overdue = await receive_until(comm, "case.overdue")
            assert overdue["case"]["overdue"] is True
        finally:
            await comm.disconnect()

    run()


def test_the_console_may_ask_for_a_fresh_list(layer, officer):
    comm = communicator(officer)

    @async_to_sync
    async def run():
        try:
            assert (await comm.connect())[0]
            await comm.receive_json_from(timeout=3)
            await comm.send_json_to({"type": "refresh"})
            assert (await comm.receive_json_from(timeout=3))["type"] == "hello"
            await comm.send_json_to({"type": "something else"})
            assert await comm.receive_nothing(timeout=0.2)
        finally:
            await comm.disconnect()

    run()


@pytest.mark.redis
def test_officer_mail_goes_through_an_rq_job(officer, reviewer, queue, rq_queues, settings):
    """With Redis, the e-mail is an RQ job on `default` (after commit), run here by a burst worker."""
    import django_rq
    from rq import SimpleWorker

    officer.email = "olga@example.org"
    officer.save()
    flag = flag_task(reviewer, held_clip(reviewer, queue, with_audio=False), category="self_harm")
    rq_queue = django_rq.get_queue("default")
    assert rq_queue.count == 1
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert len(mail.outbox) == 1 and f"case {flag.case_id}" in mail.outbox[0].subject
    assert notify.OFFICERS_GROUP == "officers"
