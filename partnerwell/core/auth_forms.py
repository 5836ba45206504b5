"""Django's sign-in and password forms, rendered with GOV.UK markup."""

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Size
from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import ngettext

from partnerwell.core import guessing
from partnerwell.core.forms import QueuedPasswordResetForm


class _GDS:
    def _gds(self) -> None:
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.label_size = Size.SMALL


class SignInForm(_GDS, auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": (
            "The email address or password is not right. Check them and try again, "
            "or reset your password."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget.attrs.update(autocomplete="email", type="email")
        # Autofocus would make the first Tab skip the "Skip to main content" link.
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self._gds()

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        if email and self.cleaned_data.get("password"):
            self._refuse_while_waiting(email)
        try:
            return super().clean()
        except forms.ValidationError as error:
            # The wrong password that used up the allowance already says how long to wait.
            if email and error.code == "invalid_login":
                self._refuse_while_waiting(email)
            raise

    def _refuse_while_waiting(self, email: str) -> None:
        seconds = guessing.sign_in_wait(self.request, email)
        if not seconds:
            return
        minutes = guessing.wait_minutes(seconds)
        raise forms.ValidationError(
            ngettext(
                "Too many wrong passwords have been tried. Wait %(minutes)d minute, then "
                "sign in again, or reset your password.",
                "Too many wrong passwords have been tried. Wait %(minutes)d minutes, then "
                "sign in again, or reset your password.",
                minutes,
            )
            % {"minutes": minutes},
            code="too_many_attempts",
        )


class ResetForm(_GDS, QueuedPasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gds()


class ChoosePasswordForm(_GDS, auth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gds()
