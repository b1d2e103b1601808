"""An officer sets up the second factor in headless Chromium, signs out, and signs in with a code."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(manual_key: str, steps_later: int = 0) -> str:
    """What an authenticator app shows for the key typed in by hand."""
    key = manual_key.replace(" ", "")
    key += "=" * (-len(key) % 8)
    return f"{totp(b32decode(key), drift=steps_later):06d}"


def sign_in_with_password(page, base: str, user, next_path: str) -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_an_officer_enrols_signs_out_and_needs_the_code_to_reach_cases(live_server, officer, browser):
    base = live_server.url
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(msg.text))

    # The password alone leads to enrolment, not to the cases.
    sign_in_with_password(page, base, officer, "/cases/")
    page.wait_for_url("**/account/mfa/enrol/**")
    assert page.locator(".qr svg").count() == 1
    manual_key = page.inner_text("#manual-key")
    page.fill("#id_token", code_for(manual_key))
    page.click("button.primary")
    page.wait_for_selector("#recovery-codes li")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.click("text=I have kept them")
    page.wait_for_url("**/cases/")

    page.click("form[action='/logout/'] button")
    page.wait_for_url("**/login/")
    page.goto(f"{base}/cases/")
    page.wait_for_url("**/login/?next=/cases/")

    # The password again: the cases stay out of reach until the code is given.
    sign_in_with_password(page, base, officer, "/cases/")
    page.wait_for_url("**/account/mfa/verify/**")
    page.goto(f"{base}/cases/")
    page.wait_for_url("**/account/mfa/verify/**")
    assert "/cases/" not in page.url.split("?")[0]
    # The code that confirmed the enrolment is spent; the app's next one signs in.
    page.fill("#id_token", code_for(manual_key, steps_later=1))
    page.click("button.primary")
    page.wait_for_url(f"{base}/cases/")
    assert page.locator("h1").first.is_visible()
    assert errors == []
