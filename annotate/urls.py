from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotate.clips import api as clips_api

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/clips", clips_api.upload_clip, name="api-upload-clip"),
    path("admin/", admin.site.urls),
    path("catalog/", include("annotate.catalog.urls")),
    path("cases/", include("annotate.escalation.urls")),
    path("lead/", include("annotate.leads.urls")),
    path("", include("annotate.review.urls")),
]
