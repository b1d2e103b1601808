"""Every page, as each role sees it, checked by axe-core in headless Chromium: no serious or
critical violation (WCAG 2.1 A and AA, and axe's best practices).

axe-core is a pinned npm devDependency; tests/support.py's axe_violations adds it to the
page (the browser context bypasses the Content-Security-Policy for that script alone:
the pages' own scripts run as usual). Moderate and minor findings are printed (-s), not
failed. A page is checked once it has drawn what its scripts draw; the review page with
a clip on screen, then with each of its dialogs open (key map, skip, flag).
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from annotate.escalation.models import Case
from annotate.leads import exports
from annotate.leads import services as leads_services
from annotate.leads.models import Export
from annotate.queues import claims
from annotate.queues.models import GoldClip
from annotate.review.services import Submission, submit
from tests.factories import case_in, make_clip, make_queue
from tests.support import PASSWORD, axe_violations, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1366, "height": 900}


def review(user, queue, text):
    task = claims.claim_next(user=user, queue=queue)
    submit(user=user, task_id=task.pk, submission=Submission(idempotency_key=uuid.uuid4().hex, corrected_text=text))
    return task


@pytest.fixture
def world(reviewer, other_reviewer, lead, officer):
    """Something on every page: a flagged case, a disagreement to adjudicate, a question, gold, an export."""
    flagged = make_queue(reviewer, name="Everyday requests (en)")
    case = case_in(Case.State.REFERRED, reviewer=reviewer, officer=officer, queue=flagged, with_audio=True)
    queue = make_queue(reviewer, other_reviewer, name="Music and everyday requests (en)", overlap=2)
    clip = make_clip("play halo by beyonce")
    task = review(reviewer, queue, "play halo by beyonce")
    review(other_reviewer, queue, "play hello by beyonce")
    opinion = leads_services.ask(user=reviewer, task_id=task.pk, question="halo or hello?", moment=0.4)
    gold = make_clip("set a timer for ten minutes")
    GoldClip.objects.create(queue=queue, clip=gold, reference_text="set a timer for ten minutes")
    export = Export.objects.create(requested_by=lead, format="nemo")
    exports.build_export(export_id=export.pk)
    for text in ("what is the weather in london", "add oat milk to my shopping list"):
        make_clip(text)
    return {"queue": queue, "case": case, "clip": clip, "opinion": opinion}


class Checker:
    """Opens pages in one signed-in browser context and runs axe on each; `.failures` holds what must be fixed."""

    def __init__(self, browser, base: str, user=None):
        self.base = base
        self.context = browser.new_context(bypass_csp=True, viewport=VIEWPORT)
        if user is not None:
            client = Client()
            client.force_login(user)  # with the second factor given (tests/conftest.py)
            self.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.failures: list[str] = []
        self.checked: list[str] = []

    def visit(self, path: str, *, ready: str | None = None, status: int = 200) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.settle(ready)
        self.check(path)

    def settle(self, ready: str | None = None) -> None:
        self.page.wait_for_load_state("load")
        if ready:
            self.page.wait_for_selector(ready)
        self.page.wait_for_timeout(200)  # what the page's scripts draw after load

    def check(self, name: str) -> None:
        blocking, others = axe_violations(self.page)
        self.checked.append(name)
        if others:
            print(f"\n{name} — moderate and minor:\n{describe_violations(others)}")
        if blocking:
            self.failures.append(f"{name}:\n{describe_violations(blocking)}")

    def done(self) -> None:
        self.context.close()
        assert not self.failures, "serious or critical axe violations:\n" + "\n".join(self.failures)
        assert not self.errors, self.errors


def test_the_reviewers_pages(live_server, world, reviewer, browser):
    pages = Checker(browser, live_server.url, reviewer)
    pages.visit("/")
    pages.page.add_init_script("localStorage.setItem('annotate.review.autoplay', '0')")
    pages.visit(f"/review/{world['queue'].pk}/", ready="#review[data-ready=true]")
    for keys, what in [("Alt+/", "key map"), ("Alt+S", "skip dialog"), ("Alt+X", "flag dialog")]:
        pages.page.keyboard.press(keys)
        pages.settle("dialog[open]")
        pages.check(f"the review page's {what}")
        pages.page.keyboard.press("Escape")
        pages.page.wait_for_selector("dialog[open]", state="detached")
    pages.visit("/cases/care/")
    pages.visit("/account/sign-out-everywhere/")
    pages.visit("/lead/", status=403)
    pages.done()


def test_the_lead_console(live_server, world, lead, browser):
    pages = Checker(browser, live_server.url, lead)
    queue = world["queue"].pk
    pages.visit("/lead/", ready="#dashboard")
    pages.visit("/lead/queues/")
    pages.visit(f"/lead/queues/{queue}/")  # its people and gold
    pages.visit("/lead/queues/new")
    pages.visit(f"/lead/queues/{queue}/edit")
    pages.visit("/lead/adjudicate/")
    pages.visit(f"/lead/adjudicate/{world['clip'].public_id}/")
    pages.visit("/lead/inbox/")
    pages.visit(f"/lead/inbox/{world['opinion'].pk}/")
    pages.visit("/lead/exports/")
    pages.visit("/cases/exposure/")
    pages.visit("/catalog/mine/")
    pages.done()


def test_the_officer_console_and_a_case(live_server, world, officer, browser):
    pages = Checker(browser, live_server.url, officer)
    case = world["case"].pk
    pages.visit("/cases/")
    pages.visit(f"/cases/{case}/")
    pages.page.click("#show-transcript")
    pages.settle()
    pages.check("the case page, transcript shown")
    pages.page.click("text=Export evidence")
    pages.settle("#evidence-key")
    pages.check("the evidence package's key")
    pages.done()


def test_the_admins_pages(live_server, admin_user, browser):
    pages = Checker(browser, live_server.url, admin_user)
    pages.visit("/admin/")
    pages.visit("/account/mfa/people/")
    pages.done()


def test_signing_in_with_and_without_a_second_factor(live_server, officer, browser):
    from django_otp.oath import totp

    pages = Checker(browser, live_server.url)
    page = pages.page
    pages.visit("/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", "not the password")
    page.keyboard.press("Enter")
    pages.settle("p.error[role=alert]")  # the refusal's page, not the form still showing before it
    pages.check("the sign-in form, refused")

    # The password: then the authenticator's enrolment, then the recovery codes.
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/mfa/enrol/**")
    pages.settle()
    pages.check("the second factor's enrolment")
    key = page.inner_text("#manual-key").replace(" ", "")
    from base64 import b32decode

    secret = b32decode(key + "=" * (-len(key) % 8))
    page.fill("#id_token", "000000" if f"{totp(secret):06d}" != "000000" else "111111")
    page.click("button.primary")
    pages.settle("p.error[role=alert]")
    pages.check("the enrolment, a wrong code")
    page.fill("#id_token", f"{totp(secret):06d}")
    page.click("button.primary")
    pages.settle("#recovery-codes")
    pages.check("the recovery codes")

    # Signed out, then in again: the code step.
    page.click("text=I have kept them")
    page.wait_for_selector("form[action='/logout/'] button")
    page.click("form[action='/logout/'] button")
    page.wait_for_url("**/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/mfa/verify/**")
    pages.settle()
    pages.check("the code step")
    pages.done()


def test_the_lockout_page(live_server, reviewer, browser, settings):
    pages = Checker(browser, live_server.url)
    page = pages.page
    page.goto(f"{live_server.url}/login/")
    for _ in range(settings.ANNOTATE_LOGIN_FAILURES):
        page.fill("#id_username", reviewer.username)
        page.fill("#id_password", "not the password")
        page.keyboard.press("Enter")
        page.wait_for_load_state("load")
    pages.settle("#lockout-message")
    pages.check("the lockout page")
    pages.done()
