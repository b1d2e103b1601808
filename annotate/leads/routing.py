"""WebSocket routes of this app."""

from django.urls import path

from annotate.leads.consumers import DashboardConsumer

websocket_urlpatterns: list = [path("ws/lead/dashboard/", DashboardConsumer.as_asgi())]
