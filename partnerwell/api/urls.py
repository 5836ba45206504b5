from django.urls import path

from partnerwell.api import views

urlpatterns = [
    path("", views.list_tokens, name="api-list-tokens"),
    path("new/", views.create_token, name="api-create-token"),
    path("<int:token_id>/revoke/", views.revoke_token, name="api-revoke-token"),
]
