"""Small template helpers shared by every app's pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def crumb(label: str, url: str) -> SafeString:
    """One breadcrumb link."""
    return format_html(
        '<li class="govuk-breadcrumbs__list-item"><a class="govuk-breadcrumbs__link" '
        'href="{}">{}</a></li>',
        url,
        label,
    )


@register.filter
def yesno_words(value: bool) -> str:
    return "Yes" if value else "No"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


@register.filter
def role_label(value: str) -> str:
    from partnerwell.core.models import Role

    return str(Role(value).label) if value in Role.values else value


@register.filter
def sector_label(value: str) -> str:
    """A sector's label from its stored value; other text passes through."""
    from partnerwell.core.models import Sector

    return str(Sector(value).label) if value in Sector.values else value


@register.filter
def hidden_groups(groups: list[dict]) -> list[str]:
    """Names of the suppressed groups in a breakdown."""
    return [g["name"] for g in groups if g.get("suppressed")]
