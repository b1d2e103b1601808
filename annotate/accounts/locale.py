"""Each person's language and time zone (accounts.Preferences), for every request.

After authentication: a signed-in person's chosen language (else the browser's, as Django's
LocaleMiddleware found it) and time zone (else the site's) are activated for the request.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation

LANGUAGES = {code for code, _ in settings.LANGUAGES}


def choices_of_time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


SESSION_KEY = "annotate_preferences"  # [language, time zone], read once per session


def remember(session, user) -> list[str]:
    """The person's preferences, read from the database into their session (at sign-in, and by the
    preferences page when they change): requests then read them from the session they load anyway."""
    from annotate.accounts.models import Preferences

    row = Preferences.objects.filter(user=user).values_list("language", "time_zone").first()
    session[SESSION_KEY] = list(row) if row else ["", ""]
    return session[SESSION_KEY]


class UserLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language, zone = "", ""
        if user is not None and user.is_authenticated:
            session = request.session
            language, zone = session.get(SESSION_KEY) or remember(session, user)
        before = translation.get_language()
        if language in LANGUAGES:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", translation.get_language() or settings.LANGUAGE_CODE)
            return response
        finally:  # the thread serves other people next: nothing of this person's stays active
            timezone.deactivate()
            if before:
                translation.activate(before)
