from django.urls import path

from . import views

app_name = "matching"
urlpatterns = [path("", views.find_a_child, name="find-a-child")]
