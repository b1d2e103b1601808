from django.urls import path

from annotate.review import views

urlpatterns = [
    path("", views.home, name="home"),
    path("review/", views.review_page, name="review"),
    path("review/<int:queue_id>/", views.review_page, name="review-queue"),
    path("review/api/claim", views.api_claim, name="review-api-claim"),
    path("review/api/tasks/<int:task_id>/submit", views.api_submit, name="review-api-submit"),
    path("review/api/tasks/<int:task_id>/skip", views.api_skip, name="review-api-skip"),
    path("review/api/tasks/<int:task_id>/renew", views.api_renew, name="review-api-renew"),
    path("review/audio/<str:token>", views.audio, name="review-audio"),
]
