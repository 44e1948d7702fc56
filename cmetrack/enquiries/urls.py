"""Enquiry pages, under /enquiries/ (config/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "enquiries"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("schema.json", views.schema, name="schema"),
    path("authorities/", views.directory, name="directory"),
    path("authorities/<str:code>/edit/", views.authority_edit, name="authority-edit"),
    path("authorities/<str:code>/confirm/", views.authority_confirm, name="authority-confirm"),
    path("cases/<int:case_id>/", views.case_enquiries, name="case"),
    path("cases/<int:case_id>/new/", views.outgoing_new, name="outgoing-new"),
    path("cases/<int:case_id>/move-notice/", views.move_notice, name="move-notice"),
    path(
        "cases/<int:case_id>/move-notice/<int:notice_id>/acknowledged/",
        views.move_notice_acknowledge,
        name="move-notice-acknowledge",
    ),
    path(
        "cases/<int:case_id>/move-notice/<int:notice_id>/letter/",
        views.move_notice_letter,
        name="move-notice-letter",
    ),
    path(
        "cases/<int:case_id>/move-notice/<int:notice_id>/letter.pdf",
        views.move_notice_letter_pdf,
        name="move-notice-pdf",
    ),
    path(
        "cases/<int:case_id>/move-notice/<int:notice_id>/notice.json",
        views.move_notice_json,
        name="move-notice-json",
    ),
    path("cases/<int:case_id>/home-office/", views.home_office_check, name="home-office"),
    path("<int:pk>/", views.outgoing_detail, name="outgoing-detail"),
    path("<int:pk>/letter/", views.outgoing_letter, name="outgoing-letter"),
    path("<int:pk>/letter.pdf", views.outgoing_letter_pdf, name="outgoing-letter-pdf"),
    path("<int:pk>/enquiry.json", views.outgoing_json, name="outgoing-json"),
    path("<int:pk>/acknowledged/", views.outgoing_acknowledge, name="outgoing-acknowledge"),
    path("<int:pk>/chased/", views.outgoing_chase, name="outgoing-chase"),
    path("<int:pk>/reply/", views.outgoing_reply, name="outgoing-reply"),
    path("<int:pk>/reply/import/", views.outgoing_reply_import, name="outgoing-reply-import"),
    path("<int:pk>/close/", views.outgoing_close, name="outgoing-close"),
    path("incoming/new/", views.incoming_new, name="incoming-new"),
    path("incoming/<int:pk>/", views.incoming_detail, name="incoming-detail"),
    path("incoming/<int:pk>/search/", views.incoming_search, name="incoming-search"),
    path("incoming/<int:pk>/match/", views.incoming_match, name="incoming-match"),
    path("incoming/<int:pk>/assessment/", views.incoming_assess, name="incoming-assess"),
    path("incoming/<int:pk>/visit/", views.incoming_visit, name="incoming-visit"),
    path("incoming/<int:pk>/reply/", views.incoming_reply, name="incoming-reply"),
    path("incoming/<int:pk>/reply.json", views.incoming_reply_json, name="incoming-reply-json"),
]
