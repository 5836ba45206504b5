"""The project's URLs plus /bench-bare/: a bare Django view, for benchmarks only.

The bare view goes through the same middleware as every page (sessions, CSRF,
CSP, security headers) but reads no session and runs no query, so a page's
throughput against it shows what the page itself costs on the same server.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from partnerwell import urls as app_urls


def bare_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"bare\n", content_type="text/plain; charset=utf-8")


urlpatterns = [path("bench-bare/", bare_view, name="bench-bare"), *app_urls.urlpatterns]

handler404 = app_urls.handler404
handler403 = app_urls.handler403
handler500 = app_urls.handler500
