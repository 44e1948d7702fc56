from django.urls import path

from . import views

app_name = "people"
urlpatterns = [path("<int:child_id>/", views.child_detail, name="child-detail")]
