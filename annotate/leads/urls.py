from django.urls import path

from annotate.leads import views

urlpatterns = [
    path("", views.dashboard, name="lead-dashboard"),
    path("dashboard.json", views.dashboard_json, name="lead-dashboard-json"),
    path("queues/", views.queue_list, name="lead-queues"),
    path("queues/new", views.queue_create, name="lead-queue-create"),
    path("queues/preview", views.queue_preview, name="lead-queue-preview"),
    path("queues/<int:queue_id>/", views.queue_detail, name="lead-queue"),
    path("queues/<int:queue_id>/edit", views.queue_edit, name="lead-queue-edit"),
    path("queues/<int:queue_id>/archive", views.queue_archive, name="lead-queue-archive"),
    path("queues/<int:queue_id>/members/add", views.member_add, name="lead-member-add"),
    path("queues/<int:queue_id>/members/<int:user_id>/remove", views.member_remove, name="lead-member-remove"),
    path("queues/<int:queue_id>/backfill", views.backfill_create, name="lead-backfill"),
    path("queues/<int:queue_id>/backfill/<int:backfill_id>/status", views.backfill_status, name="lead-backfill-status"),
    path("queues/<int:queue_id>/gold/add", views.gold_add, name="lead-gold-add"),
    path("queues/<int:queue_id>/gold/<int:gold_id>/retire", views.gold_retire, name="lead-gold-retire"),
    path("adjudicate/", views.adjudication_list, name="lead-adjudication"),
    path("adjudicate/<str:public_id>/", views.adjudicate, name="lead-adjudicate"),
    path("screening/", views.screening, name="lead-screening"),
    path("inbox/", views.inbox, name="lead-inbox"),
    path("inbox/<int:opinion_id>/", views.inbox_item, name="lead-inbox-item"),
    path("audio/<str:token>", views.audio, name="lead-audio"),
    path("exports/", views.exports, name="lead-exports"),
    path("exports/<int:export_id>/status", views.export_status, name="lead-export-status"),
    path("exports/<int:export_id>/download", views.export_download, name="lead-export-download"),
    path("api/second-opinions", views.second_opinions, name="lead-api-second-opinions"),
]
