from django.urls import path

from partnerwell.healthcheck import views

urlpatterns = [
    path(
        "partnerships/<int:partnership_id>/health-checks/",
        views.list_rounds,
        name="healthcheck-list-rounds",
    ),
    path(
        "partnerships/<int:partnership_id>/health-checks/new/",
        views.create_round,
        name="healthcheck-create-round",
    ),
    path(
        "partnerships/<int:partnership_id>/frameworks/new/",
        views.create_framework,
        name="healthcheck-create-framework",
    ),
    path(
        "partnerships/<int:partnership_id>/frameworks/import/",
        views.import_framework,
        name="healthcheck-import-framework",
    ),
    path("rounds/<int:round_id>/", views.view_round, name="healthcheck-view-round"),
    path(
        "rounds/<int:round_id>/progress/", views.round_progress, name="healthcheck-round-progress"
    ),
    path("rounds/<int:round_id>/close/", views.close_round, name="healthcheck-close-round"),
    path("rounds/<int:round_id>/remind/", views.remind_round, name="healthcheck-remind-round"),
    path("rounds/<int:round_id>/links/", views.print_links, name="healthcheck-print-links"),
    path("rounds/<int:round_id>/results/", views.view_results, name="healthcheck-view-results"),
    path(
        "rounds/<int:round_id>/results/print/",
        views.print_results,
        name="healthcheck-print-results",
    ),
    path(
        "rounds/<int:round_id>/results.xlsx",
        views.export_results_xlsx,
        name="healthcheck-export-results-xlsx",
    ),
    path(
        "rounds/<int:round_id>/results.pdf",
        views.request_results_pdf,
        name="healthcheck-request-results-pdf",
    ),
    path(
        "rounds/<int:round_id>/pdfs/<int:pdf_id>/",
        views.view_results_pdf,
        name="healthcheck-view-results-pdf",
    ),
    path(
        "rounds/<int:round_id>/pdfs/<int:pdf_id>/download/",
        views.download_results_pdf,
        name="healthcheck-download-results-pdf",
    ),
    path("rounds/<int:round_id>/discuss/", views.mark_discuss, name="healthcheck-mark-discuss"),
    path(
        "rounds/<int:round_id>/discuss/<int:item_id>/remove/",
        views.unmark_discuss,
        name="healthcheck-unmark-discuss",
    ),
    path("health-checks/how-to-read/", views.how_to_read, name="healthcheck-how-to-read"),
    path("frameworks/", views.list_frameworks, name="healthcheck-list-frameworks"),
    path("frameworks/<int:framework_id>/", views.view_framework, name="healthcheck-view-framework"),
    path(
        "frameworks/<int:framework_id>/edit/",
        views.edit_framework,
        name="healthcheck-edit-framework",
    ),
    path(
        "frameworks/<int:framework_id>/export.yaml",
        views.export_framework,
        name="healthcheck-export-framework",
    ),
    path("r/done/", views.respond_done, name="healthcheck-respond-done"),
    path("r/<str:token>/", views.respond, name="healthcheck-respond"),
    path("r/<str:token>/check/", views.respond_check, name="healthcheck-respond-check"),
    path("r/<str:token>/<int:step>/", views.respond, name="healthcheck-respond-step"),
]
