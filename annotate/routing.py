"""WebSocket routes (the officer console and the lead dashboard plug in here)."""

websocket_urlpatterns: list = []
