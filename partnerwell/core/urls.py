from django.urls import path

from partnerwell.core import views

urlpatterns = [
    path("", views.list_partnerships, name="core-list-partnerships"),
    path("partnerships/new/", views.create_partnership, name="core-create-partnership"),
    path(
        "partnerships/<int:partnership_id>/", views.view_partnership, name="core-view-partnership"
    ),
    path(
        "partnerships/<int:partnership_id>/edit/",
        views.edit_partnership,
        name="core-edit-partnership",
    ),
    path(
        "partnerships/<int:partnership_id>/members/", views.list_members, name="core-list-members"
    ),
    path(
        "partnerships/<int:partnership_id>/members/add/", views.add_member, name="core-add-member"
    ),
    path(
        "partnerships/<int:partnership_id>/members/import/",
        views.import_members,
        name="core-import-members",
    ),
    path(
        "partnerships/<int:partnership_id>/members/import/<int:import_id>/",
        views.preview_import,
        name="core-preview-import",
    ),
    path(
        "partnerships/<int:partnership_id>/members/import/<int:import_id>/confirm/",
        views.confirm_import,
        name="core-confirm-import",
    ),
    path(
        "partnerships/<int:partnership_id>/members/export.csv",
        views.export_members,
        {"fmt": "csv"},
        name="core-export-members-csv",
    ),
    path(
        "partnerships/<int:partnership_id>/members/export.xlsx",
        views.export_members,
        {"fmt": "xlsx"},
        name="core-export-members-xlsx",
    ),
    path(
        "partnerships/<int:partnership_id>/terms/", views.view_terms, name="core-view-terms-latest"
    ),
    path("partnerships/<int:partnership_id>/terms/new/", views.add_terms, name="core-add-terms"),
    path(
        "partnerships/<int:partnership_id>/terms/<int:version>/",
        views.view_terms,
        name="core-view-terms",
    ),
    path("members/<int:membership_id>/edit/", views.edit_member, name="core-edit-member"),
    path("members/<int:membership_id>/end/", views.end_member, name="core-end-member"),
    path("people/<int:person_id>/", views.view_person, name="core-view-person"),
    path("account/", views.my_details, name="core-my-details"),
    path("organisations/", views.list_organisations, name="core-list-organisations"),
    path("organisations/new/", views.create_organisation, name="core-create-organisation"),
    path(
        "organisations/<int:organisation_id>/",
        views.view_organisation,
        name="core-view-organisation",
    ),
    path(
        "organisations/<int:organisation_id>/edit/",
        views.edit_organisation,
        name="core-edit-organisation",
    ),
]
