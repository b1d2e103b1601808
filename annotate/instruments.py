"""Process-local measurements for the operator's metrics (annotate/metrics.py): latencies of the
reviewer's hot path and the live WebSocket connections. prometheus-client objects, importable by
any app; what the database knows (backlogs, ages, counts) is read at scrape time instead.

Several processes per host (uvicorn's workers): set PROMETHEUS_MULTIPROC_DIR to an empty folder
of the host, the same for all its processes, emptied at each start (docs/deploy.md), and one
scrape of any of them sums all.
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

CLAIM_SECONDS = Histogram(
    "annotate_claim_seconds",
    "Seconds the server took to answer a reviewer's claim (next clips)",
    buckets=LATENCY_BUCKETS,
)
SUBMIT_SECONDS = Histogram(
    "annotate_submit_seconds", "Seconds the server took to store a reviewer's submit", buckets=LATENCY_BUCKETS
)
WEBSOCKETS = Gauge(
    "annotate_websocket_connections",
    "Open WebSocket connections (officers' console, leads' dashboard)",
    ["consumer"],
    multiprocess_mode="livesum",
)
