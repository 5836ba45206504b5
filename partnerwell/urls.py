from django.contrib import admin
from django.urls import include, path

from partnerwell.api.api import api

admin.site.site_header = "partnerwell administration"
admin.site.site_title = "partnerwell administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("partnerwell.core.auth_urls")),
    path("api/v1/", api.urls),
    path("api-tokens/", include("partnerwell.api.urls")),
    path("", include("partnerwell.healthcheck.urls")),
    path("", include("partnerwell.delivery.urls")),
    path("", include("partnerwell.meetings.urls")),
    path("", include("partnerwell.core.urls")),
]

handler404 = "partnerwell.core.errors.not_found"
handler403 = "partnerwell.core.errors.forbidden"
handler500 = "partnerwell.core.errors.server_error"
