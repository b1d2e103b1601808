from django.urls import path

from annotate.escalation import views

urlpatterns = [
    # officers
    path("", views.console, name="cases"),
    path("api/open", views.api_open_cases, name="cases-api-open"),
    path("<int:case_id>/", views.case_page, name="case"),
    path("<int:case_id>/transition", views.case_transition, name="case-transition"),
    path("<int:case_id>/acknowledge", views.case_acknowledge, name="case-acknowledge"),
    path("<int:case_id>/audio", views.case_audio, name="case-audio"),
    path("<int:case_id>/audio/muffled", views.case_audio_muffled, name="case-audio-muffled"),
    path("<int:case_id>/transcript", views.case_transcript, name="case-transcript"),
    path("<int:case_id>/unseal", views.unseal_request, name="case-unseal"),
    path("<int:case_id>/unseal/<int:request_id>/approve", views.unseal_approve, name="case-unseal-approve"),
    path("<int:case_id>/unseal/<int:request_id>/refuse", views.unseal_refuse, name="case-unseal-refuse"),
    path("<int:case_id>/identity", views.case_identity, name="case-identity"),
    path("<int:case_id>/evidence", views.evidence_export, name="case-evidence-export"),
    path("<int:case_id>/evidence/<int:export_id>", views.evidence_download, name="case-evidence"),
    # reviewers
    path("api/flags", views.api_flag, name="cases-api-flag"),
    path("api/receipts", views.api_receipts, name="cases-api-receipts"),
    path("care/", views.care_page, name="care"),
    path("care/break", views.care_break, name="care-break"),
    path("care/break/end", views.care_break_end, name="care-break-end"),
    path("care/opt-out", views.care_opt_out, name="care-opt-out"),
    # team leads
    path("exposure/", views.exposure_page, name="exposure"),
    path("exposure/<int:user_id>/cap", views.exposure_cap, name="exposure-cap"),
]
