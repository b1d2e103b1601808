"""The reviewer's pages and API. Built by annotate/urls.py, which hands in what the
review app may not import itself (it sits below them): reviewer care's rule of which
queues may serve a reviewer now (annotate.escalation.care.servable_queues)."""

from django.urls import path

from annotate.queues import claims
from annotate.review import views


def patterns(*, servable: claims.Servable) -> list:
    claiming = {"servable": servable}
    return [
        path("", views.home, name="home"),
        path("review/", views.review_page, claiming, name="review"),
        path("review/<int:queue_id>/", views.review_page, claiming, name="review-queue"),
        path("review/api/claim", views.api_claim, claiming, name="review-api-claim"),
        path("review/api/tasks/<int:task_id>/submit", views.api_submit, name="review-api-submit"),
        path("review/api/tasks/<int:task_id>/skip", views.api_skip, name="review-api-skip"),
        path("review/api/tasks/<int:task_id>/renew", views.api_renew, name="review-api-renew"),
        path("review/audio/<str:token>", views.audio, name="review-audio"),
    ]
