"""Sign in, sign out, password reset and accepting an invitation."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from partnerwell.core.auth_forms import ChoosePasswordForm, ResetForm, SignInForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=ResetForm),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=ChoosePasswordForm,
            post_reset_login=True,
            success_url=reverse_lazy("core-list-partnerships"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=ChoosePasswordForm,
            post_reset_login=True,
            template_name="registration/accept_invitation.html",
            success_url=reverse_lazy("core-list-partnerships"),
        ),
        name="core-accept-invitation",
    ),
]
