"""API authentication (bearer tokens for service accounts, sessions for people) and /me."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from .models import User
from .services import api_token_authenticate
from .two_factor import two_factor_pending

#: Accounts whose tokens serve only some of the API: (which accounts, the path prefix they
#: are kept to, what to tell a caller outside it). Filled by the apps that make such
#: accounts (a school's data-feed account may only send feeds: detection/extensions.py).
_TOKEN_SCOPES: list[tuple[Callable[[User], bool], str, str]] = []


def token_scope_register(accounts: Callable[[User], bool], path_prefix: str, why: str) -> None:
    """Keep the tokens of the ``accounts`` to paths under ``path_prefix``; elsewhere they
    are refused with 403 and ``why``."""
    _TOKEN_SCOPES.append((accounts, path_prefix, why))


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` for service accounts."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_authenticate(token)
        if user is None:
            return None
        for accounts, path_prefix, why in _TOKEN_SCOPES:
            if accounts(user) and not request.path.startswith(path_prefix):
                raise HttpError(403, why)
        request.user = user
        return user


class SessionAuth(APIKeyHeader):
    """A signed-in person's session. Unsafe methods need the CSRF token (X-CSRFToken)."""

    openapi_type = "apiKey"
    param_name = "X-CSRFToken"
    csrf = True

    def _get_key(self, request: HttpRequest) -> str | None:
        # Ninja checks CSRF only for cookie keys; a session is a cookie, so check here.
        if (
            request.user.is_authenticated
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return "session"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        # A session still waiting for its two-factor code is not signed in for the API.
        if user.is_authenticated and user.is_active and not two_factor_pending(request):
            return user
        return None


def api_user(request: HttpRequest) -> User:
    """The authenticated caller (bearer token or session), as the auth classes set it."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


router = Router(tags=["Accounts"])


class OrganisationRef(Schema):
    id: int
    name: str
    kind: str


class Me(Schema):
    email: str
    full_name: str
    roles: list[str]
    organisation: OrganisationRef | None
    is_service_account: bool


@router.get("/me", response=Me, summary="Who am I", operation_id="whoami")
def whoami(request: HttpRequest) -> dict[str, Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    org = user.organisation
    return {
        "email": user.email,
        "full_name": user.full_name,
        "roles": sorted(user.role_set),
        "organisation": {"id": org.pk, "name": org.name, "kind": org.kind} if org else None,
        "is_service_account": user.is_service_account,
    }
