"""WebSocket routes of this app."""

from django.urls import path

from annotate.escalation.consumers import OfficerConsoleConsumer

# The officers' live channel; pages get it as "/" + CASES_SOCKET (their json_script state).
CASES_SOCKET = "ws/cases/"

websocket_urlpatterns: list = [path(CASES_SOCKET, OfficerConsoleConsumer.as_asgi())]
