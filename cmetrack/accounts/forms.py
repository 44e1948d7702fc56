"""The sign-in form: email and password, with errors in plain words."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput,
        error_messages={"required": "Enter your password"},
    )
    error_messages = {
        "invalid_login": "Enter a correct email address and password",
        "inactive": "This account has been switched off; ask your administrator",
    }


class SecurityCodeForm(forms.Form):
    """The 6-digit code from an authenticator app."""

    code = forms.CharField(
        label="Security code",
        max_length=12,
        error_messages={"required": "Enter the 6-digit security code from your app"},
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("The security code must be 6 digits, like 123456")
        return code
