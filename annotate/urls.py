"""The project's URLs, and the one place where apps are wired to the apps above them."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django_otp.admin import OTPAdminSite

from annotate import api as rest_api
from annotate import metrics
from annotate.accounts import mfa_views, signin_views
from annotate.escalation import care
from annotate.review import urls as review_urls

# The admin site asks for a second factor too (its sign-in form has a code field).
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/sign-out-everywhere/", signin_views.sign_out_everywhere, name="sign-out-everywhere"),
    path("account/preferences/", signin_views.preferences, name="preferences"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("account/mfa/", include("annotate.accounts.mfa_urls")),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", rest_api.api.urls),
    path("admin/login/", mfa_views.admin_sign_in, name="admin-sign-in"),
    path("admin/", admin.site.urls),
    path("catalog/", include("annotate.catalog.urls")),
    path("cases/", include("annotate.escalation.urls")),
    path("lead/", include("annotate.leads.urls")),
    path("", include(review_urls.patterns(servable=care.servable_queues))),
]
