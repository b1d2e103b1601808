from django.urls import path

from annotate.accounts import mfa_views

urlpatterns = [
    path("enrol/", mfa_views.enrol, name="mfa-enrol"),
    path("verify/", mfa_views.verify, name="mfa-verify"),
    path("people/", mfa_views.people, name="mfa-people"),
    path("people/<int:user_id>/reset", mfa_views.reset, name="mfa-reset"),
]
