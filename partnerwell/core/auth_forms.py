"""Django's sign-in and password forms, rendered with GOV.UK markup."""

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Size
from django.contrib.auth import forms as auth_forms

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


class ResetForm(_GDS, QueuedPasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gds()


class ChoosePasswordForm(_GDS, auth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gds()
