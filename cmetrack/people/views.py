from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor

from .forms import RestrictedAccessForm
from .models import Child, RestrictedAddressAccess
from .presenters import ChildPresenter
from .selectors import child_get_for_view, children_visible_to, restricted_access_for
from .services import (
    RESTRICTED_ACCESS_ROLES,
    restricted_address_access_grant,
    restricted_address_access_revoke,
)


@login_required
def child_detail(request: HttpRequest, child_id: int) -> HttpResponse:
    try:
        child = child_get_for_view(actor=Actor.from_request(request), child_id=child_id)
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc
    presenter = ChildPresenter(child=child, viewer=request.user)  # type: ignore[arg-type]
    return render(request, "people/child_detail.jinja", {"presenter": presenter})


def _manager_child(request: HttpRequest, child_id: int) -> Child:
    """The child, for a CME manager managing restricted-address access (404 otherwise)."""
    user: User = request.user  # type: ignore[assignment]
    if not user.has_role(Role.CME_MANAGER):
        raise Http404("No such child")
    try:
        return children_visible_to(user).get(pk=child_id)
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc


@login_required
def restricted_access(request: HttpRequest, child_id: int) -> HttpResponse:
    """A CME manager names who may see this child's restricted addresses."""
    child = _manager_child(request, child_id)
    candidates = (
        User.objects.filter(is_active=True, roles__role__in=RESTRICTED_ACCESS_ROLES)
        .distinct()
        .order_by("full_name")
    )
    form = RestrictedAccessForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            restricted_address_access_grant(
                actor=Actor.from_request(request),
                child=child,
                user=form.cleaned_data["user"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return HttpResponseRedirect(reverse("people:restricted-access", args=[child.pk]))
    context = {"child": child, "form": form, "granted": list(restricted_access_for(child))}
    return render(request, "people/restricted_access.jinja", context)


@login_required
@require_POST
def restricted_access_remove(request: HttpRequest, child_id: int, access_id: int) -> HttpResponse:
    child = _manager_child(request, child_id)
    try:
        access = restricted_access_for(child).get(pk=access_id)
    except RestrictedAddressAccess.DoesNotExist as exc:
        raise Http404("No such access") from exc
    restricted_address_access_revoke(actor=Actor.from_request(request), access=access)
    return HttpResponseRedirect(reverse("people:restricted-access", args=[child.pk]))
