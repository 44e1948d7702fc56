"""Enquiry pages. Thin: check who may see or act, call a selector or a service, render.

Seeing needs a CME officer, manager or auditor (403 for anyone else); acting needs an
officer or manager (auditors read only). Each form posts to its own address and the page
is shown again with the form's errors, or redirects with a success banner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.casework.presenters import case_page_url, error_list
from cmetrack.idempotency.services import (
    Outcome,
    Receipt,
    form_key,
    owner_of,
    repeat_message,
    submit_once,
)
from cmetrack.kit.pdf import PdfUnavailable
from cmetrack.kit.uploads import validate_upload
from cmetrack.matching.services import SearchNotReady
from cmetrack.organisations.models import Country, LocalAuthority
from cmetrack.organisations.selectors import authority_directory, stale_contact_days
from cmetrack.organisations.services import (
    local_authority_contact_confirm,
    local_authority_contact_update,
)

from . import selectors, services
from .dataset import CHILD_ITEMS, MINIMUM_ITEMS, VULNERABILITY_ITEMS, record_preview
from .documents import schema_text
from .forms import (
    AcknowledgeForm,
    AssessForm,
    ChaseForm,
    CloseForm,
    ContactForm,
    EnquiryForm,
    HomeOfficeForm,
    IncomingForm,
    IncomingImportForm,
    IncomingReplyForm,
    MatchForm,
    MoveNoticeForm,
    ReplyForm,
    ReplyImportForm,
    VisitForm,
)
from .letter import letter_html, letter_pdf, move_notice_html, move_notice_pdf
from .models import HomeOfficeCheck, IncomingEnquiry, MoveNotification, OutgoingEnquiry
from .presenters import OutgoingPresenter, directory_rows, incoming_rows, outgoing_rows

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_see(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.may_see_enquiries(user):
        raise PermissionDenied(
            "Only the CME team sees inter-authority enquiries (auditors see the register "
            "without children's details)."
        )
    return user


def _require_act(request: HttpRequest) -> User:
    user = _require_see(request)
    if not selectors.may_act_on_enquiries(user):
        raise PermissionDenied("Only CME officers and managers make and answer enquiries.")
    return user


def _case(request: HttpRequest, case_id: int) -> Case:

    try:
        return cases_visible_to(_user(request)).get(pk=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


def _outgoing(request: HttpRequest, pk: int) -> OutgoingEnquiry:
    _require_see(request)
    try:
        return selectors.outgoing_get_for_view(
            actor=Actor.from_request(request), user=_user(request), pk=pk
        )
    except OutgoingEnquiry.DoesNotExist as exc:
        raise Http404("No such enquiry") from exc


def _incoming(request: HttpRequest, pk: int) -> IncomingEnquiry:
    _require_see(request)
    try:
        return selectors.incoming_get_for_view(
            actor=Actor.from_request(request), user=_user(request), pk=pk
        )
    except IncomingEnquiry.DoesNotExist as exc:
        raise Http404("No such enquiry") from exc


def _date_initial(day: dt.date | None) -> list[str] | None:
    """A date as the three boxes of the GOV.UK date input show it."""
    return [str(day.day), str(day.month), str(day.year)] if day else None


def _success(request: HttpRequest) -> list[str]:
    return [str(m) for m in messages.get_messages(request)]


def _try(form: Any, call: Callable[[], Any]) -> bool:
    """Run a service call for a valid form; put its errors on the form. True if it worked."""
    if not form.is_valid():
        return False
    try:
        call()
    except ValidationError as exc:
        form.add_service_errors(exc)
        return False
    return True


def _try_once(
    request: HttpRequest,
    form: Any,
    scope: str,
    call: Callable[[], Any],
    receipt: Callable[[Any], Receipt],
) -> Outcome[Any] | None:
    """:func:`_try`, done once per form token: the outcome if it worked (now or the first
    time the same form was sent), None if the form or the service refused it."""
    if not form.is_valid():
        return None
    try:
        return submit_once(
            key=form_key(request),
            owner=owner_of(request.user),
            scope=scope,
            create=call,
            receipt=receipt,
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


def _repeated(request: HttpRequest, outcome: Outcome[Any]) -> HttpResponse | None:
    """For a form sent twice: say so and go where the first sending went."""
    if outcome.previous is None:
        return None
    messages.info(request, repeat_message(outcome.previous))
    return HttpResponseRedirect(outcome.previous.result_url)


def _outgoing_receipt(case: Case, created: list[OutgoingEnquiry]) -> Receipt:
    if len(created) == 1:
        url = reverse("enquiries:outgoing-detail", args=[created[0].pk])
    else:
        url = reverse("enquiries:case", args=[case.pk])
    return Receipt(
        url=url,
        reference=", ".join(e.reference for e in created),
        object_ids=tuple(e.pk for e in created),
    )


# --- queues ---------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not selectors.may_see_enquiry_register(user):
        raise PermissionDenied("Only the CME team and auditors see the enquiry register.")
    if not selectors.may_see_enquiries(user):
        # Auditors: the register as metadata, never a child's identity (issue 17).
        return render(
            request,
            "enquiries/register_metadata.jinja",
            {"register": selectors.enquiry_register_metadata()},
        )
    today = timezone.localdate()
    overdue = list(selectors.reply_overdue(user, today)[:PAGE_SIZE])
    awaiting = list(selectors.awaiting_reply(user)[:PAGE_SIZE])
    incoming = list(selectors.incoming_to_answer(user)[:PAGE_SIZE])
    recent = list(
        selectors.outgoing_visible_to(user).exclude(status__in=["sent", "acknowledged", "chased"])[
            :20
        ]
    )
    return render(
        request,
        "enquiries/index.jinja",
        {
            "overdue": outgoing_rows(overdue, today),
            "awaiting": outgoing_rows(awaiting, today),
            "incoming": incoming_rows(incoming, today),
            "recent": outgoing_rows(recent, today),
            "can_act": selectors.may_act_on_enquiries(user),
        },
    )


# --- outgoing -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def outgoing_new(request: HttpRequest, case_id: int) -> HttpResponse:
    _require_act(request)
    case = _case(request, case_id)
    authorities = selectors.authorities_to_ask()
    if request.method == "POST":
        form = EnquiryForm(request.POST, authorities=authorities)

        def send() -> list[OutgoingEnquiry]:
            return services.enquiries_send_batch(
                actor=Actor.from_request(request),
                case=case,
                requests=form.requests(),
                details=form.details(),
            )

        outcome = _try_once(
            request, form, "enquiries.outgoing", send, lambda made: _outgoing_receipt(case, made)
        )
        if outcome is not None:
            if (again := _repeated(request, outcome)) is not None:
                return again
            created: list[OutgoingEnquiry] = outcome.result or []
            if len(created) > 1:
                messages.success(
                    request,
                    f"{len(created)} enquiries recorded as sent, one to each authority: "
                    + ", ".join(f"{e.reference} ({e.local_authority.name})" for e in created)
                    + ". Send each letter by secure email.",
                )
                return HttpResponseRedirect(reverse("enquiries:case", args=[case.pk]))
            enquiry = created[0]
            messages.success(
                request,
                f"Enquiry {enquiry.reference} recorded as sent to {enquiry.contact_name} "
                f"({enquiry.local_authority.name}). Send the letter by secure email.",
            )
            return HttpResponseRedirect(reverse("enquiries:outgoing-detail", args=[enquiry.pk]))
    else:
        # The minimum by default: more only when the officer ticks it (dataset.py).
        form = EnquiryForm(authorities=authorities, initial={"share": list(MINIMUM_ITEMS)})
    return render(
        request,
        "enquiries/outgoing_new.jinja",
        {
            "case": case,
            "case_url": case_page_url(case),
            "form": form,
            "errors": error_list(form),
            "child_items": CHILD_ITEMS,
            "vulnerability_items": VULNERABILITY_ITEMS,
            "preview": record_preview(case),
            "restricted": case.child.addresses.filter(is_restricted=True).exists(),
            "reply_days": services.reply_working_days(),
        },
    )


def _outgoing_page(
    request: HttpRequest, enquiry: OutgoingEnquiry, forms: dict[str, Any] | None = None
) -> HttpResponse:
    user = _user(request)
    can_act = selectors.may_act_on_enquiries(user)
    forms = forms or {}
    if can_act:
        forms.setdefault("acknowledge", AcknowledgeForm(prefix="ack"))
        forms.setdefault("chase", ChaseForm(prefix="chase"))
        forms.setdefault("reply", ReplyForm(prefix="reply"))
        forms.setdefault("import", ReplyImportForm(prefix="import"))
        forms.setdefault("close", CloseForm(prefix="close"))
    errors = [e for f in forms.values() for e in error_list(f)]
    presenter = OutgoingPresenter(
        enquiry=enquiry, can_act=can_act, forms=forms, errors=errors, success=_success(request)
    )
    return render(
        request,
        "enquiries/outgoing_detail.jinja",
        {"p": presenter, "allowed": services.ALLOWED_MOVES[enquiry.status]},
        status=400 if errors else 200,
    )


@login_required
@require_GET
def outgoing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _outgoing_page(request, _outgoing(request, pk))


def _action(
    request: HttpRequest,
    enquiry: Any,
    key: str,
    form: Any,
    call: Callable[[Any, Any], Any],
    success: str,
    *,
    detail: str,
    page: Callable[..., HttpResponse],
) -> HttpResponse:
    """Run one status action on an enquiry (outgoing or incoming): on success back to its
    page with a message, else the page again with the form's errors under ``key``."""
    if _try(form, lambda: call(enquiry, form.cleaned_data)):
        messages.success(request, success)
        return HttpResponseRedirect(reverse(detail, args=[enquiry.pk]))
    return page(request, enquiry, {key: form})


def _outgoing_action(
    request: HttpRequest,
    pk: int,
    key: str,
    form: Any,
    call: Callable[[OutgoingEnquiry, Any], Any],
    success: str,
) -> HttpResponse:
    _require_act(request)
    return _action(
        request,
        _outgoing(request, pk),
        key,
        form,
        call,
        success,
        detail="enquiries:outgoing-detail",
        page=_outgoing_page,
    )


@login_required
@require_POST
def outgoing_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _outgoing_action(
        request,
        pk,
        "acknowledge",
        AcknowledgeForm(request.POST, prefix="ack"),
        lambda e, d: services.enquiry_acknowledge(actor=actor, enquiry=e, **d),
        "Acknowledgement recorded",
    )


@login_required
@require_POST
def outgoing_chase(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _outgoing_action(
        request,
        pk,
        "chase",
        ChaseForm(request.POST, prefix="chase"),
        lambda e, d: services.enquiry_chase(actor=actor, enquiry=e, **d),
        "Reminder recorded",
    )


@login_required
@require_POST
def outgoing_reply(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _outgoing_action(
        request,
        pk,
        "reply",
        ReplyForm(request.POST, prefix="reply"),
        lambda e, d: services.enquiry_reply_record(actor=actor, enquiry=e, **d),
        "Reply recorded",
    )


def _read_upload(upload: Any) -> bytes:
    validate_upload(upload, extensions={"json"}, max_bytes=256 * 1024)
    return bytes(upload.read())


@login_required
@require_POST
def outgoing_reply_import(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _outgoing_action(
        request,
        pk,
        "import",
        ReplyImportForm(request.POST, request.FILES, prefix="import"),
        lambda e, d: services.enquiry_reply_import(
            actor=actor, enquiry=e, raw=_read_upload_or_error(d["file"])
        ),
        "Reply imported",
    )


def _read_upload_or_error(upload: Any) -> bytes:
    try:
        return _read_upload(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc


@login_required
@require_POST
def outgoing_close(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _outgoing_action(
        request,
        pk,
        "close",
        CloseForm(request.POST, prefix="close"),
        lambda e, d: services.enquiry_close(actor=actor, enquiry=e, **d),
        "Enquiry closed",
    )


@login_required
@require_GET
def outgoing_letter(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    enquiry = _outgoing(request, pk)
    services.enquiry_export(actor=Actor.from_request(request), enquiry=enquiry, kind="letter")
    return HttpResponse(letter_html(enquiry))


@login_required
@require_GET
def outgoing_letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    enquiry = _outgoing(request, pk)
    try:
        pdf = letter_pdf(enquiry)
    except PdfUnavailable:
        return render(request, "enquiries/pdf_unavailable.jinja", {"enquiry": enquiry}, status=503)
    services.enquiry_export(actor=Actor.from_request(request), enquiry=enquiry, kind="PDF letter")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="enquiry-{enquiry.reference}.pdf"'
    return response


@login_required
@require_GET
def outgoing_json(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    enquiry = _outgoing(request, pk)
    text = services.enquiry_export(
        actor=Actor.from_request(request), enquiry=enquiry, kind="JSON file"
    )
    response = HttpResponse(text, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="enquiry-{enquiry.reference}.json"'
    return response


@require_GET
def schema(request: HttpRequest) -> HttpResponse:
    """The published JSON Schema (public: it holds no personal data)."""
    return HttpResponse(schema_text(), content_type="application/schema+json")


# --- incoming -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def incoming_new(request: HttpRequest) -> HttpResponse:
    _require_act(request)
    authorities = selectors.authorities_to_ask()
    form = IncomingForm(
        authorities=authorities, initial={"received_on": _date_initial(timezone.localdate())}
    )
    import_form = IncomingImportForm(prefix="import")
    if request.method == "POST":
        actor = Actor.from_request(request)

        def receipt(made: IncomingEnquiry) -> Receipt:
            return Receipt(
                url=reverse("enquiries:incoming-detail", args=[made.pk]),
                reference=made.referral.reference,
                object_ids=(made.pk,),
            )

        if "import-file" in request.FILES or request.POST.get("kind") == "import":
            import_form = IncomingImportForm(request.POST, request.FILES, prefix="import")
            outcome = _try_once(
                request,
                import_form,
                "enquiries.incoming",
                lambda: services.incoming_enquiry_import(
                    actor=actor, raw=_read_upload_or_error(import_form.cleaned_data["file"])
                ),
                receipt,
            )
        else:
            form = IncomingForm(request.POST, authorities=authorities)
            outcome = _try_once(
                request,
                form,
                "enquiries.incoming",
                lambda: _log_incoming(actor, form.cleaned_data),
                receipt,
            )
        if outcome is not None:
            if (again := _repeated(request, outcome)) is not None:
                return again
            made = outcome.result
            assert made is not None
            messages.success(request, f"Enquiry logged as referral {made.referral.reference}")
            return HttpResponseRedirect(reverse("enquiries:incoming-detail", args=[made.pk]))
    errors = error_list(form) + error_list(import_form)
    return render(
        request,
        "enquiries/incoming_new.jinja",
        {"form": form, "import_form": import_form, "errors": errors},
        status=400 if errors else 200,
    )


def _log_incoming(actor: Actor, d: dict[str, Any]) -> IncomingEnquiry:
    def text(key: str) -> str:
        return str(d.get(key) or "")

    return services.incoming_enquiry_log(
        actor=actor,
        from_la=d["from_la"],
        received_on=d["received_on"],
        dob=d.get("dob"),
        sex=d.get("sex") or "U",
        given_names=text("given_names"),
        family_name=text("family_name"),
        reason_linked=text("reason_linked"),
        address_given=text("address_given"),
        postcode=text("postcode"),
        their_reference=text("their_reference"),
        contact_name=text("contact_name"),
        contact_email=text("contact_email"),
        vulnerabilities=text("vulnerabilities"),
    )


def _visit_owners(enquiry: IncomingEnquiry) -> list[tuple[str, str]]:
    return selectors.visit_owner_choices(enquiry)


def _incoming_page(
    request: HttpRequest,
    enquiry: IncomingEnquiry,
    forms: dict[str, Any] | None = None,
    *,
    search_not_ready: bool = False,
) -> HttpResponse:
    user = _user(request)
    can_act = selectors.may_act_on_enquiries(user)
    forms = forms or {}
    if can_act:
        forms.setdefault("match", MatchForm(prefix="match", results=enquiry.search_results))
        forms.setdefault("assess", AssessForm(prefix="assess"))
        forms.setdefault("visit", VisitForm(prefix="visit", owners=_visit_owners(enquiry)))
        forms.setdefault("reply", IncomingReplyForm(prefix="reply"))
    errors = [e for f in forms.values() for e in error_list(f)]
    return render(
        request,
        "enquiries/incoming_detail.jinja",
        {
            "e": enquiry,
            "child": services.enquiry_child(enquiry),
            "match_problem": services.match_decision_problem(enquiry),
            "can_act": can_act,
            "forms": forms,
            "errors": errors,
            "success": _success(request),
            "search_not_ready": search_not_ready,
        },
        status=400 if errors else 200,
    )


@login_required
@require_GET
def incoming_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _incoming_page(request, _incoming(request, pk))


def _incoming_action(
    request: HttpRequest,
    pk: int,
    key: str,
    form: Any,
    call: Callable[[IncomingEnquiry, Any], Any],
    success: str,
) -> HttpResponse:
    _require_act(request)
    return _action(
        request,
        _incoming(request, pk),
        key,
        form,
        call,
        success,
        detail="enquiries:incoming-detail",
        page=_incoming_page,
    )


@login_required
@require_POST
def incoming_search(request: HttpRequest, pk: int) -> HttpResponse:
    _require_act(request)
    enquiry = _incoming(request, pk)
    try:
        services.incoming_enquiry_search(actor=Actor.from_request(request), enquiry=enquiry)
    except SearchNotReady:
        return _incoming_page(request, enquiry, search_not_ready=True)
    messages.success(request, "Every register searched")
    return HttpResponseRedirect(reverse("enquiries:incoming-detail", args=[pk]) + "#search")


@login_required
@require_POST
def incoming_match(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    _require_act(request)
    form = MatchForm(request.POST, prefix="match", results=_incoming(request, pk).search_results)
    return _incoming_action(
        request,
        pk,
        "match",
        form,
        lambda e, d: services.incoming_enquiry_choose_match(
            actor=actor, enquiry=e, choice=d["choice"]
        ),
        "Decision recorded: the visit and the reply use it",
    )


@login_required
@require_POST
def incoming_assess(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _incoming_action(
        request,
        pk,
        "assess",
        AssessForm(request.POST, prefix="assess"),
        lambda e, d: services.incoming_enquiry_assess(actor=actor, enquiry=e, **d),
        "Vulnerability assessment recorded",
    )


@login_required
@require_POST
def incoming_visit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    _require_act(request)
    form = VisitForm(request.POST, prefix="visit", owners=_visit_owners(_incoming(request, pk)))

    def call(e: IncomingEnquiry, d: Any) -> Any:
        owner = User.objects.get(pk=int(d["owner"]))
        return services.incoming_enquiry_visit_task(
            actor=actor, enquiry=e, owner=owner, due=d["due"]
        )

    return _incoming_action(request, pk, "visit", form, call, "Visit arranged as a task")


@login_required
@require_POST
def incoming_reply(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _incoming_action(
        request,
        pk,
        "reply",
        IncomingReplyForm(request.POST, prefix="reply"),
        lambda e, d: services.incoming_enquiry_reply(actor=actor, enquiry=e, **d),
        "Reply recorded: send it to the authority by secure email",
    )


@login_required
@require_GET
def incoming_reply_json(request: HttpRequest, pk: int) -> HttpResponse:
    _require_see(request)
    enquiry = _incoming(request, pk)
    try:
        text = services.incoming_reply_document(actor=Actor.from_request(request), enquiry=enquiry)
    except ValidationError as exc:
        raise Http404("Not answered yet") from exc
    response = HttpResponse(text, content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="reply-{enquiry.referral.reference}.json"'
    )
    return response


# --- a case's enquiries and departure ------------------------------------------------------


def _case_page(
    request: HttpRequest, case: Case, forms: dict[str, Any] | None = None
) -> HttpResponse:
    user = _require_see(request)
    can_act = selectors.may_act_on_enquiries(user)
    forms = forms or {}
    if can_act:
        forms.setdefault(
            "notice", MoveNoticeForm(prefix="notice", authorities=selectors.authorities_to_ask())
        )
        forms.setdefault("home_office", HomeOfficeForm(prefix="ho"))
    errors = [e for f in forms.values() for e in error_list(f)]
    enquiries = list(selectors.outgoing_visible_to(user).filter(case=case))
    return render(
        request,
        "enquiries/case.jinja",
        {
            "case": case,
            "case_url": case_page_url(case),
            "rows": outgoing_rows(enquiries),
            "notices": list(
                MoveNotification.objects.filter(case=case).select_related("local_authority")
            ),
            "checks": list(HomeOfficeCheck.objects.filter(case=case)),
            "can_act": can_act,
            "forms": forms,
            "errors": errors,
            "success": _success(request),
        },
        status=400 if errors else 200,
    )


@login_required
@require_GET
def case_enquiries(request: HttpRequest, case_id: int) -> HttpResponse:
    _require_see(request)
    return _case_page(request, _case(request, case_id))


def _case_action(
    request: HttpRequest,
    case_id: int,
    key: str,
    form: Any,
    call: Callable[[Case, Any], Any],
    success: str,
) -> HttpResponse:
    _require_act(request)
    case = _case(request, case_id)
    page = reverse("enquiries:case", args=[case_id]) + "#departure"
    outcome = _try_once(
        request,
        form,
        f"enquiries.case.{key}",
        lambda: call(case, form.cleaned_data),
        lambda _made: Receipt(url=page),
    )
    if outcome is not None:
        if (again := _repeated(request, outcome)) is not None:
            return again
        messages.success(request, success)
        return HttpResponseRedirect(page)
    return _case_page(request, case, {key: form})


@login_required
@require_POST
def move_notice(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _case_action(
        request,
        case_id,
        "notice",
        MoveNoticeForm(request.POST, prefix="notice", authorities=selectors.authorities_to_ask()),
        lambda c, d: services.move_notification_send(actor=actor, case=c, **d),
        "Notification recorded",
    )


@login_required
@require_POST
def move_notice_acknowledge(request: HttpRequest, case_id: int, notice_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    form = AcknowledgeForm(request.POST, prefix=f"notice-{notice_id}")

    def call(case: Case, d: Any) -> Any:
        try:
            notice = MoveNotification.objects.get(pk=notice_id, case=case)
        except MoveNotification.DoesNotExist as exc:
            raise Http404("No such notification") from exc
        return services.move_notification_acknowledge(actor=actor, notification=notice, **d)

    return _case_action(
        request, case_id, f"ack-{notice_id}", form, call, "Acknowledgement recorded"
    )


def _notice(request: HttpRequest, case_id: int, notice_id: int) -> MoveNotification:
    """A move notice of a case in the user's scope (404 otherwise)."""
    user = _require_see(request)
    try:
        return selectors.move_notices_visible_to(user).get(pk=notice_id, case_id=case_id)
    except MoveNotification.DoesNotExist as exc:
        raise Http404("No such notification") from exc


def _notice_export(request: HttpRequest, notice: MoveNotification, kind: str) -> None:
    try:
        services.move_notice_export(actor=Actor.from_request(request), notice=notice, kind=kind)
    except ValidationError as exc:  # a restricted address would leave: nothing is produced
        raise PermissionDenied(" ".join(exc.messages)) from exc


@login_required
@require_GET
def move_notice_letter(request: HttpRequest, case_id: int, notice_id: int) -> HttpResponse:
    notice = _notice(request, case_id, notice_id)
    _notice_export(request, notice, "letter")
    return HttpResponse(move_notice_html(notice))


@login_required
@require_GET
def move_notice_letter_pdf(request: HttpRequest, case_id: int, notice_id: int) -> HttpResponse:
    notice = _notice(request, case_id, notice_id)
    try:
        pdf = move_notice_pdf(notice)
    except PdfUnavailable:
        return render(request, "enquiries/pdf_unavailable.jinja", {"notice": notice}, status=503)
    _notice_export(request, notice, "PDF letter")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="move-notice-{notice.reference}.pdf"'
    return response


@login_required
@require_GET
def move_notice_json(request: HttpRequest, case_id: int, notice_id: int) -> HttpResponse:
    notice = _notice(request, case_id, notice_id)
    try:
        text = services.move_notice_export(
            actor=Actor.from_request(request), notice=notice, kind="JSON file"
        )
    except ValidationError as exc:
        raise PermissionDenied(" ".join(exc.messages)) from exc
    response = HttpResponse(text, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="move-notice-{notice.reference}.json"'
    return response


@login_required
@require_POST
def home_office_check(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _case_action(
        request,
        case_id,
        "home_office",
        HomeOfficeForm(request.POST, prefix="ho"),
        lambda c, d: services.home_office_check_record(actor=actor, case=c, **d),
        "Home Office check recorded",
    )


# --- the directory of authorities ----------------------------------------------------------


@login_required
@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not selectors.may_see_directory(user):
        raise PermissionDenied("The directory of authorities is for local authority staff.")
    query = request.GET.get("q", "")[:100]
    country = request.GET.get("country", "")
    country = country if country in Country.values else ""
    stale_only = request.GET.get("stale") == "1"
    qs = authority_directory(query=query, country=country, stale_only=stale_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "enquiries/directory.jinja",
        {
            "rows": directory_rows(list(page.object_list)),
            "page": page,
            "query": query,
            "country": country,
            "stale_only": stale_only,
            "countries": Country.choices,
            "stale_days": stale_contact_days(),
            "can_edit": selectors.may_edit_directory(user),
            "success": _success(request),
        },
    )


def _authority(code: str) -> LocalAuthority:
    try:
        return LocalAuthority.objects.get(code=code)
    except LocalAuthority.DoesNotExist as exc:
        raise Http404("No such authority") from exc


@login_required
@require_http_methods(["GET", "POST"])
def authority_edit(request: HttpRequest, code: str) -> HttpResponse:
    if not selectors.may_edit_directory(_user(request)):
        raise PermissionDenied("Only an administrator can change the directory of authorities.")
    la = _authority(code)
    if request.method == "POST":
        form = ContactForm(request.POST)
        if _try(
            form,
            lambda: local_authority_contact_update(
                actor=Actor.from_request(request), local_authority=la, **form.cleaned_data
            ),
        ):
            messages.success(request, f"The CME contact of {la.name} has been saved")
            return HttpResponseRedirect(reverse("enquiries:directory") + f"?q={la.code}")
    else:
        form = ContactForm(
            initial={
                "cme_contact_name": la.cme_contact_name,
                "cme_contact_role": la.cme_contact_role,
                "cme_contact_email": la.cme_contact_email,
                "cme_contact_phone": la.cme_contact_phone,
                "contact_confirmed_on": _date_initial(la.contact_confirmed_on),
            }
        )
    errors = error_list(form)
    return render(
        request,
        "enquiries/authority_edit.jinja",
        {"la": la, "form": form, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
@require_POST
def authority_confirm(request: HttpRequest, code: str) -> HttpResponse:
    if not selectors.may_edit_directory(_user(request)):
        raise PermissionDenied("Only an administrator can change the directory of authorities.")
    la = _authority(code)
    try:
        local_authority_contact_confirm(actor=Actor.from_request(request), local_authority=la)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The CME contact of {la.name} is confirmed as of today")
    return HttpResponseRedirect(reverse("enquiries:directory") + f"?q={la.code}")
