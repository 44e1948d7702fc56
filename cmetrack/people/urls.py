from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("<int:child_id>/", views.child_detail, name="child-detail"),
    path(
        "<int:child_id>/restricted-address-access/",
        views.restricted_access,
        name="restricted-access",
    ),
    path(
        "<int:child_id>/restricted-address-access/<int:access_id>/remove/",
        views.restricted_access_remove,
        name="restricted-access-remove",
    ),
]
