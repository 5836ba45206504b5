"""Pages for actions."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
