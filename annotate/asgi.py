"""One ASGI application for HTTP and WebSocket (uvicorn in production, Daphne under runserver).

HTTP requests run Django's WSGI handler on a pool of threads (annotate/wsgibridge.py): every
view and middleware of ours is synchronous, and Django's own ASGI handler would carry each
request across three thread hops (its sync middleware, then the view) and start a thread per
request. Here a request runs start to end in one pool thread, with two hops in all: a small
body is read before the thread starts and the response is sent whole when it is done; an
upload and a streaming response go piece by piece. WebSockets stay asynchronous (Channels).
The pool has ANNOTATE_WEB_THREADS threads per process, as many as the database pool
has connections, so no request waits for a connection another thread of its own
process holds.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from annotate.accounts.mfa_middleware import MfaWebsocketMiddleware  # noqa: E402
from annotate.routing import websocket_urlpatterns  # noqa: E402
from annotate.wsgibridge import ThreadedWSGI  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ThreadedWSGI(django_wsgi_app, threads=settings.ANNOTATE_WEB_THREADS),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(MfaWebsocketMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
