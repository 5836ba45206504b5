from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    Side,
    TermsOfReference,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        # user_permissions: core.add_partnership lets an area coordinator start partnerships.
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )
    filter_horizontal = ("groups", "user_permissions")
    list_filter = ["is_staff", "is_active"]


class SideInline(admin.TabularInline):
    model = Side
    extra = 0


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "area", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "area"]
    inlines = [SideInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "sector", "website"]
    list_filter = ["sector"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["person", "organisation", "partnership", "role", "side", "decision_maker"]
    list_filter = ["role", "decision_maker"]
    search_fields = ["person__name", "person__email", "organisation__name", "partnership__name"]
    raw_id_fields = ["person", "organisation", "partnership", "deputy_for", "side"]


@admin.register(TermsOfReference)
class TermsAdmin(admin.ModelAdmin):
    list_display = ["partnership", "version", "adopted_on", "next_review_on"]
    raw_id_fields = ["partnership", "created_by"]
