from django.urls import path

from annotate.review import views

urlpatterns = [
    path("", views.home, name="home"),
]
