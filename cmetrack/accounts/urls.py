from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("two-factor/set-up/", views.two_factor_set_up, name="two-factor-set-up"),
    path("two-factor/verify/", views.two_factor_verify, name="two-factor-verify"),
]
