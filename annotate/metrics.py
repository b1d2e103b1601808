"""The operator's metrics in Prometheus text format at /metrics (issue 17, docs/deploy.md).

Only the operator reaches it: with ANNOTATE_METRICS_TOKEN set, a request that sends it
(`Authorization: Bearer <token>`); with ANNOTATE_METRICS_ALLOW (networks, e.g. 10.0.0.0/8), a
request from one of them. With neither, /metrics does not exist (404). Numbers only: no clip,
person or text is ever named.

What the database knows is read at each scrape (one query per family, so every web process and
host answers the same): ingest outcomes, the Whisper backlog and its oldest clip, transcription
seconds per clip, open tasks per queue, open cases by severity and the oldest unacknowledged
case, the outbox. What one process measures (claim and submit latency, WebSocket connections)
comes from annotate.instruments.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from annotate.clips.models import Clip, IngestCount, MachineTranscript
from annotate.escalation.models import Case, Severity
from annotate.jobs.models import Job
from annotate.queues.models import Task
from annotate.review.models import Annotation
from annotate.web import client_ip

TRANSCRIPTION_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
WAITING_FOR_WHISPER = (Clip.State.PENDING_ASR, Clip.State.ASR_RETRYING, Clip.State.TRANSCRIBING)


def _age(oldest, now) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


class DatabaseCollector:
    """Metric families read from the database at scrape time."""

    def collect(self):
        now = timezone.now()
        yield from self._ingest()
        yield from self._whisper(now)
        yield from self._review(now)
        yield from self._cases(now)

    def _ingest(self):
        imported = CounterMetricFamily("annotate_clips_ingested", "Clips ingested (stored)")
        refused = CounterMetricFamily(
            "annotate_clips_refused",
            "Clips not stored, by reason (duplicate, opted out, rejected: why)",
            labels=["reason"],
        )
        counts = IngestCount.objects.values("outcome").annotate(n=Sum("count"))
        total_imported = 0
        for row in counts:
            if row["outcome"] == "imported":
                total_imported += row["n"]
            else:
                refused.add_metric([row["outcome"].replace("rejected:", "rejected_")], row["n"])
        imported.add_metric([], total_imported)
        yield imported
        yield refused

    def _whisper(self, now):
        backlog = GaugeMetricFamily("annotate_asr_backlog", "Clips waiting for Whisper, by state", labels=["state"])
        by_state = dict(Clip.objects.filter(state__in=WAITING_FOR_WHISPER).values_list("state").annotate(n=Count("pk")))
        for state in WAITING_FOR_WHISPER:
            backlog.add_metric([state], by_state.get(state, 0))
        yield backlog
        oldest = Clip.objects.filter(state__in=(Clip.State.PENDING_ASR, Clip.State.ASR_RETRYING)).aggregate(
            t=Min("created_at")
        )["t"]
        yield GaugeMetricFamily(
            "annotate_asr_oldest_pending_seconds",
            "Age of the oldest clip waiting for Whisper (0: none waits)",
            value=_age(oldest, now),
        )
        cuts = {f"b{i}": Count("pk", filter=Q(seconds_taken__lte=le)) for i, le in enumerate(TRANSCRIPTION_BUCKETS)}
        seconds = MachineTranscript.objects.aggregate(n=Count("pk"), total=Sum("seconds_taken"), **cuts)
        buckets = [(str(le), seconds[f"b{i}"]) for i, le in enumerate(TRANSCRIPTION_BUCKETS)]
        yield HistogramMetricFamily(
            "annotate_transcription_seconds",
            "Whisper seconds per clip (a packed window's time shared among its clips by length)",
            buckets=[*buckets, ("+Inf", seconds["n"])],
            sum_value=seconds["total"] or 0.0,
        )

    def _review(self, now):
        tasks = GaugeMetricFamily("annotate_open_tasks", "Tasks waiting for a reviewer, by queue", labels=["queue"])
        for name, n in (
            Task.objects.filter(state=Task.State.OPEN, queue__archived=False)
            .values_list("queue__name")
            .annotate(n=Count("pk"))
            .order_by("queue__name")
        ):
            tasks.add_metric([name], n)
        yield tasks
        outbox = GaugeMetricFamily(
            "annotate_outbox_backlog",
            "Work recorded in the database and not done yet: submits whose quality figures wait, jobs",
            labels=["kind"],
        )
        outbox.add_metric(["annotations"], Annotation.objects.filter(derived_at__isnull=True).count())
        outbox.add_metric(["jobs"], Job.objects.filter(state__in=Job.OPEN_STATES).count())
        yield outbox

    def _cases(self, now):
        cases = GaugeMetricFamily(
            "annotate_open_cases", "Escalation cases not closed, by severity", labels=["severity"]
        )
        by_severity = dict(
            Case.objects.exclude(state=Case.State.CLOSED).values_list("severity").annotate(n=Count("pk"))
        )
        for severity in Severity.values:
            cases.add_metric([severity], by_severity.get(severity, 0))
        yield cases
        oldest = Case.objects.filter(state=Case.State.NEW).aggregate(t=Min("opened_at"))["t"]
        yield GaugeMetricFamily(
            "annotate_oldest_unacknowledged_case_seconds",
            "Age of the oldest case no officer has acknowledged (0: none)",
            value=_age(oldest, now),
        )


def exposition() -> bytes:
    """The text a scrape gets: this host's processes (or this process) and the database's numbers."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)


def _allowed(request: HttpRequest) -> bool:
    token = settings.ANNOTATE_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
            return True
    address = client_ip(request)
    if settings.ANNOTATE_METRICS_ALLOW and address:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.ANNOTATE_METRICS_ALLOW)
    return False


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (settings.ANNOTATE_METRICS_TOKEN or settings.ANNOTATE_METRICS_ALLOW):
        raise Http404("metrics are off: set ANNOTATE_METRICS_TOKEN or ANNOTATE_METRICS_ALLOW")
    if not _allowed(request):
        return HttpResponse(
            "metrics: send the operator's token, or scrape from an allowed network\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
