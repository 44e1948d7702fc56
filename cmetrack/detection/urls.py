from django.urls import path

from . import views

app_name = "detection"
urlpatterns = [
    path("", views.alert_list, name="alert-list"),
    path("upload/", views.upload, name="upload"),
    path("imports/", views.import_list, name="import-list"),
    path("feeds/", views.feed_freshness_view, name="feed-freshness"),
    path("imports/<int:run_id>/", views.import_run, name="import-run"),
    path("imports/<int:run_id>/progress.json", views.import_progress, name="import-progress"),
    path("deletion-return/", views.deletion_return, name="deletion-return"),
    path("<int:alert_id>/", views.alert_detail, name="alert-detail"),
    path("<int:alert_id>/refer/", views.alert_refer_view, name="alert-refer"),
    path("<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("<int:alert_id>/dismiss/", views.alert_dismiss_view, name="alert-dismiss"),
    path("<int:alert_id>/attach/", views.alert_attach_view, name="alert-attach"),
]
