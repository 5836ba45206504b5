"""Pages for partnerships, members, organisations, terms of reference and imports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from partnerwell.core import access, services
from partnerwell.core.forms import (
    SECTOR_FILTER_CHOICES,
    AddMemberForm,
    EditMemberForm,
    ImportForm,
    MyDetailsForm,
    NewPartnershipForm,
    OrganisationForm,
    OwnMembershipForm,
    PartnershipForm,
    TermsForm,
)
from partnerwell.core.imports import MemberRow
from partnerwell.core.markdown import render_markdown
from partnerwell.core.models import (
    ImportStatus,
    MemberImport,
    Membership,
    Organisation,
    Partnership,
    Role,
    Sector,
    User,
)
from partnerwell.core.overview import membership_overview
from partnerwell.core.panels import links, panels_for
from partnerwell.core.tasks import check_member_import


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def list_partnerships(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.current()
        .filter(person=_user(request))
        .select_related("partnership", "organisation", "side", "partnership__parent")
        .order_by(Lower("partnership__name"))
    )
    counts = dict(
        Membership.objects.current()
        .filter(partnership__in=[m.partnership_id for m in memberships])
        .values_list("partnership")
        .annotate(n=Count("id"))
        .values_list("partnership", "n")
    )
    context = {
        "memberships": memberships,
        "counts": counts,
        "can_create": access.may_open_new_partnership(_user(request)),
    }
    return render(request, "core/list_partnerships.html", context)


@login_required
def create_partnership(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.may_open_new_partnership(user):
        raise PermissionDenied(access.creation_refused())
    form = NewPartnershipForm(
        request.POST or None,
        user=user,
        parents=access.subgroup_parents(user),
        top_level=access.may_create_partnership(user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        partnership = services.partnership_create(
            by=user,
            name=data["name"],
            kind=data["kind"],
            organisation=data["organisation"],
            purpose=data["purpose"],
            vision=data["vision"],
            area=data["area"],
            parent=data["parent"],
            sides=data["side_names"],
        )
        messages.success(request, f"{partnership.name} has been created. Now add its members.")
        return redirect("core-view-partnership", partnership.pk)
    return render(request, "core/partnership_form.html", {"form": form, "creating": True})


@login_required
def view_partnership(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id)
    members = partnership.memberships.current()
    # One query for the three membership figures on the page.
    figures = members.aggregate(
        members=Count("pk"),
        organisations=Count("organisation", distinct=True),
        decision_makers=Count("pk", filter=Q(decision_maker=True)),
    )
    context = {
        "partnership": partnership,
        "can_manage": access.can_manage(user, partnership),
        "terms": partnership.terms_versions.first(),
        "sides": list(partnership.sides.all()),
        "member_count": figures["members"],
        "organisation_count": figures["organisations"],
        "decision_maker_count": figures["decision_makers"],
        "children": access.visible_partnerships(user).filter(parent=partnership),
        "leads": members.filter(role__in=[Role.CHAIR, Role.CO_CHAIR, Role.VICE_CHAIR, Role.MANAGER])
        .select_related("person", "organisation", "side")
        .order_by("role"),
        "panels": panels_for(partnership, user),
    }
    return render(request, "core/view_partnership.html", context)


@login_required
def edit_partnership(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    # A new parent must be one the editor manages; the present parent may stay.
    parents = Partnership.objects.filter(
        Q(pk__in=access.subgroup_parents(user).values("pk")) | Q(pk=partnership.parent_id)
    )
    form = PartnershipForm(request.POST or None, instance=partnership, user=user, parents=parents)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            services.partnership_set_sides(
                partnership=partnership, names=form.cleaned_data["side_names"]
            )
        messages.success(request, "The partnership's details have been saved.")
        return redirect("core-view-partnership", partnership.pk)
    return render(request, "core/partnership_form.html", {"form": form, "partnership": partnership})


@login_required
def list_members(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id)
    context = {
        "partnership": partnership,
        "can_manage": access.can_manage(user, partnership),
        **membership_overview(partnership),
    }
    return render(request, "core/list_members.html", context)


@login_required
def add_member(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    form = AddMemberForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.member_add(
                by=user,
                partnership=partnership,
                email=data["email"],
                name=data["name"],
                organisation=data["organisation"],
                role=data["role"],
                side=data.get("side"),
                decision_maker=data["decision_maker"],
                deputy_for=data["deputy_for"],
                responsibilities=data["responsibilities_text"],
                start_date=data["start_date"],
                end_date=data["end_date"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _added_message(membership, data["name"]))
            return redirect("core-list-members", partnership.pk)
    return render(request, "core/member_form.html", {"form": form, "partnership": partnership})


def _added_message(membership: Membership, typed_name: str) -> str:
    person = membership.person
    if person.name != typed_name.strip():
        return _(
            "%(email)s already has an account, so they keep their own name, %(name)s. "
            "They have been added and told by email."
        ) % {"email": person.email, "name": person.name}
    return _("%(name)s has been added and told by email.") % {"name": person.name}


@login_required
def edit_member(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership, manager = access.get_membership_to_edit(user, membership_id)
    partnership = membership.partnership
    form: EditMemberForm | OwnMembershipForm
    if manager:
        form = EditMemberForm(request.POST or None, instance=membership, partnership=partnership)
    else:
        form = OwnMembershipForm(
            request.POST or None,
            initial={"responsibilities_text": ", ".join(membership.responsibilities)},
        )
    if request.method == "POST" and form.is_valid():
        membership.responsibilities = form.cleaned_data["responsibilities_text"]
        if isinstance(form, EditMemberForm):
            form.save()
        else:
            membership.save(update_fields=["responsibilities"])
        messages.success(request, "The member's details have been saved.")
        return redirect("core-view-person", membership.person_id)
    context = {"form": form, "partnership": partnership, "membership": membership}
    return render(request, "core/member_form.html", context)


@require_POST
@login_required
def end_member(request: HttpRequest, membership_id: int) -> HttpResponse:
    user = _user(request)
    membership = access.get_membership(user, membership_id)
    access.get_partnership(user, membership.partnership_id, manage=True)
    if membership.end_date is None or membership.end_date > timezone.localdate():
        membership.end_date = timezone.localdate()
        membership.save(update_fields=["end_date"])
        messages.success(request, f"{membership.person.name}'s membership has ended today.")
    return redirect("core-list-members", membership.partnership_id)


@login_required
def view_person(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    person = access.get_person(user, person_id)
    managed = set(access.managed_partnerships(user).values_list("pk", flat=True))
    memberships = (
        person.memberships.filter(partnership__in=access.visible_partnerships(user))
        .select_related("partnership", "organisation", "side", "deputy_for__person")
        .order_by(Lower("partnership__name"))
    )
    context = {"person": person, "memberships": memberships, "managed": managed}
    return render(request, "core/view_person.html", context)


@login_required
def my_details(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = MyDetailsForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your details have been saved.")
        return redirect("core-my-details")
    account_links = [(label, reverse(name)) for label, name in links("account")]
    return render(request, "core/my_details.html", {"form": form, "account_links": account_links})


@login_required
def list_organisations(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    sector = request.GET.get("sector", "")
    organisations = Organisation.objects.annotate(
        partnership_count=Count("memberships__partnership", distinct=True)
    ).order_by(Lower("name"))
    if query:
        organisations = organisations.filter(name__icontains=query)
    if sector in Sector.values:
        organisations = organisations.filter(sector=sector)
    context = {
        "organisations": organisations,
        "query": query,
        "sector": sector,
        "sector_choices": SECTOR_FILTER_CHOICES,
        "can_add": access.managed_partnerships(_user(request)).exists(),
    }
    return render(request, "core/list_organisations.html", context)


@login_required
def create_organisation(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (user.is_superuser or access.managed_partnerships(user).exists()):
        messages.error(request, "Only partnership managers and chairs can add organisations.")
        return redirect("core-list-organisations")
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = form.save()
        messages.success(request, f"{organisation.name} has been added to the directory.")
        next_url = request.GET.get("next", "")
        if next_url.startswith("/") and not next_url.startswith("//"):
            return redirect(next_url)
        return redirect("core-view-organisation", organisation.pk)
    return render(request, "core/organisation_form.html", {"form": form})


@login_required
def view_organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    user = _user(request)
    organisation = access.get_organisation(user, organisation_id)
    visible = access.visible_partnerships(user)
    memberships = (
        organisation.memberships.current()
        .filter(partnership__in=visible)
        .select_related("partnership", "person", "side")
        .order_by(Lower("partnership__name"), "person__name")
    )
    context = {
        "organisation": organisation,
        "memberships": memberships,
        "can_edit": access.can_edit_organisation(user, organisation),
    }
    return render(request, "core/view_organisation.html", context)


@login_required
def edit_organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    user = _user(request)
    organisation = access.get_organisation(user, organisation_id)
    if not access.can_edit_organisation(user, organisation):
        messages.error(
            request, "Only managers of a partnership this organisation sits on can change it."
        )
        return redirect("core-view-organisation", organisation.pk)
    form = OrganisationForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The organisation has been saved.")
        return redirect("core-view-organisation", organisation.pk)
    return render(
        request, "core/organisation_form.html", {"form": form, "organisation": organisation}
    )


@login_required
def view_terms(
    request: HttpRequest, partnership_id: int, version: int | None = None
) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id)
    versions = list(partnership.terms_versions.select_related("created_by"))
    if version is None:
        terms = versions[0] if versions else None
    else:
        terms = access.get_terms(user, partnership_id, version)
    context = {
        "partnership": partnership,
        "terms": terms,
        "html": render_markdown(terms.text) if terms else "",
        "versions": versions,
        "can_manage": access.can_manage(user, partnership),
        "is_latest": bool(terms and versions and terms.pk == versions[0].pk),
    }
    return render(request, "core/view_terms.html", context)


@login_required
def add_terms(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    latest = partnership.terms_versions.first()
    initial = {"text": latest.text} if latest else {}
    form = TermsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        terms = services.terms_add_version(by=user, partnership=partnership, **form.cleaned_data)
        messages.success(request, f"Version {terms.version} of the terms of reference is saved.")
        return redirect("core-view-terms-latest", partnership.pk)
    return render(request, "core/terms_form.html", {"form": form, "partnership": partnership})


@login_required
def import_members(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # A large spreadsheet takes seconds to read: the worker reads it, not the request.
        pending = MemberImport.objects.create(
            partnership=partnership,
            created_by=user,
            filename=upload.name[:255],
            status=ImportStatus.CHECKING,
            data=upload.read(),
            invite=form.cleaned_data["invite"],
        )
        transaction.on_commit(lambda: check_member_import.enqueue(import_id=pending.pk))
        return redirect("core-preview-import", partnership.pk, pending.pk)
    return render(request, "core/import_members.html", {"form": form, "partnership": partnership})


def _pending_import(
    user: User,
    partnership: Partnership,
    import_id: int,
    *,
    lock: bool = False,
    ready: bool = False,
) -> MemberImport:
    imports = MemberImport.objects.select_for_update() if lock else MemberImport.objects
    if ready:
        imports = imports.filter(status=ImportStatus.READY)
    return get_object_or_404(
        imports, pk=import_id, partnership=partnership, created_by=user, applied_at=None
    )


def _import_status(request: HttpRequest, pending: MemberImport) -> HttpResponse:
    """The page while the worker checks the file, or the reasons it was refused."""
    if request.headers.get("HX-Request") and pending.status != ImportStatus.CHECKING:
        # The check is over: the whole page changes (errors or the preview), so reload it.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    template = "core/import_status.html"
    if request.headers.get("HX-Request"):
        template += "#status"
    context = {
        "partnership": pending.partnership,
        "pending": pending,
        "row_errors": pending.row_errors,
        "good_count": pending.good_count,
        "filename": pending.filename,
    }
    return render(request, template, context)


@login_required
def preview_import(request: HttpRequest, partnership_id: int, import_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    pending = _pending_import(user, partnership, import_id)
    if pending.status != ImportStatus.READY or request.headers.get("HX-Request"):
        return _import_status(request, pending)
    emails = [r["email"] for r in pending.rows]
    # Rows hold lower-cased addresses; accounts may have been stored with capitals.
    existing = set(
        partnership.memberships.annotate(lemail=Lower("person__email"))
        .filter(lemail__in=emails)
        .values_list("lemail", flat=True)
    )
    rows = [MemberRow(**{k: v for k, v in r.items() if k != "invite"}) for r in pending.rows]
    kept = services.names_kept(by=user, rows=rows)
    context = {
        "partnership": partnership,
        "pending": pending,
        "kept": sorted(
            ((r.email, r.name, kept[r.email]) for r in rows if r.email in kept),
            key=lambda k: k[0],
        )[:200],
        "kept_count": len(kept),
        "rows": pending.rows[:200],
        "total": len(pending.rows),
        "updating": len(existing),
        "adding": len(pending.rows) - len(existing),
        "existing": existing,
    }
    return render(request, "core/preview_import.html", context)


@require_POST
@login_required
def confirm_import(request: HttpRequest, partnership_id: int, import_id: int) -> HttpResponse:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    with transaction.atomic():
        # The lock makes a second, simultaneous confirm wait and then find it applied.
        pending = _pending_import(user, partnership, import_id, lock=True, ready=True)
        invite = bool(pending.rows and pending.rows[0].get("invite"))
        rows = [MemberRow(**{k: v for k, v in r.items() if k != "invite"}) for r in pending.rows]
        summary = services.members_import(
            by=user, partnership=partnership, rows=rows, invite=invite
        )
        pending.applied_at = timezone.now()
        pending.save(update_fields=["applied_at"])
    messages.success(
        request,
        f"Imported {pending.filename}: {summary.added} members added, {summary.updated} updated"
        f", {summary.new_organisations} new organisations."
        + ngettext(
            " %(told)d person who already had an account was told by email.",
            " %(told)d people who already had an account were told by email.",
            summary.told,
        )
        % {"told": summary.told},
    )
    return redirect("core-list-members", partnership.pk)


@login_required
def export_members(request: HttpRequest, partnership_id: int, fmt: str) -> HttpResponse:
    from partnerwell.core.exports import download, member_rows

    partnership = access.get_partnership(_user(request), partnership_id)
    header, rows = member_rows(partnership)
    return download(fmt, "Members", f"{partnership.name} members", header, rows)
