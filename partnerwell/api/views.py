"""The page where a person creates and revokes their API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from partnerwell.api.models import AccessToken
from partnerwell.core.forms import TokenForm
from partnerwell.core.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, form: TokenForm, new_token: str | None = None) -> HttpResponse:
    context = {"tokens": _user(request).api_tokens.all(), "form": form, "new_token": new_token}
    return render(request, "api/list_tokens.html", context)


@login_required
def list_tokens(request: HttpRequest) -> HttpResponse:
    return _page(request, TokenForm())


@require_POST
@login_required
def create_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    _, plain = AccessToken.issue(user=_user(request), name=form.cleaned_data["name"])
    # The token is shown on this response only; it is never stored in plain text.
    return _page(request, TokenForm(), new_token=plain)


@require_POST
@login_required
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    # Tokens are scoped to their owner: anyone else's id answers 404.
    token = get_object_or_404(AccessToken, pk=token_id, user=_user(request))
    token.delete()
    messages.success(request, f"The token “{token.name}” no longer works.")
    return redirect("api-list-tokens")
