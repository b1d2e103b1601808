"""WebSocket routes of this app."""

from django.urls import path

from annotate.escalation.consumers import OfficerConsoleConsumer

websocket_urlpatterns: list = [path("ws/cases/", OfficerConsoleConsumer.as_asgi())]
