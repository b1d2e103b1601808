"""WebSocket routes of this app."""

from django.urls import path

from annotate.leads.consumers import DashboardConsumer

# The live dashboard's channel; the page gets it as "/" + DASHBOARD_SOCKET (json_script).
DASHBOARD_SOCKET = "ws/lead/dashboard/"

websocket_urlpatterns: list = [path(DASHBOARD_SOCKET, DashboardConsumer.as_asgi())]
