"""WebSocket routes: each app lists its own."""

from annotate.escalation.routing import websocket_urlpatterns as escalation_ws
from annotate.leads.routing import websocket_urlpatterns as leads_ws

websocket_urlpatterns: list = [*escalation_ws, *leads_ws]
