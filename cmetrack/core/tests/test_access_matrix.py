"""Negative tests for every role against every page and API endpoint (issue 5).

``REGISTRY`` lists every named URL the project serves (the admin site is tested
separately). ``test_every_url_is_in_the_registry`` enumerates the URL resolver, so a new
page or endpoint that is not added here makes the suite fail: add it, with the roles that
may use it, and the matrix below tries it for every role.

For every role and every entry the matrix:

- opens it with the ids of records that role must not see (a child, case and referral of
  another school) and with guessed ids: the answer must be 403 or 404 (401/422 for the API),
  and a write must not write anything about the child;
- opens list, search, count and export pages plain and with "attack" query parameters
  (another school's id, the other child's name and id) and checks the answer;
- checks that no response contains the other child's or referral's distinctive names,
  and that a restricted address never appears anywhere (except in a CME manager's subject
  access export, where it is marked).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.people.services import child_add_address
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.services import referral_record

pytestmark = pytest.mark.django_db

ALL = frozenset(Role)
CASE_ROLES = frozenset(
    {Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL, Role.SAFEGUARDING_ADVISER}
)
REPORT_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR})
#: Roles that read children-in-care records; the Virtual School alone writes plans.
CIC_ROLES = frozenset({Role.VIRTUAL_SCHOOL, Role.CME_OFFICER, Role.CME_MANAGER})
VS_ONLY = frozenset({Role.VIRTUAL_SCHOOL})
#: Roles that see every child, case and referral of the authority.
SEE_ALL = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})
#: Inter-authority enquiries: the CME team; auditors see only the register, as metadata
#: (no child's identity: issue 17); the directory of authorities by every local-authority
#: role (not schools or agencies).
ENQ_SEE = SEE_ALL | {Role.AUDITOR}
DIRECTORY = ALL - {Role.SCHOOL_USER, Role.AGENCY_USER}
ADMIN_ONLY = frozenset({Role.ADMINISTRATOR})
#: Transfer files: schools upload their own, CME staff and administrators any.
TRANSFER_UPLOAD = SEE_ALL | {Role.ADMINISTRATOR, Role.SCHOOL_USER}
#: Places and securing provision: admissions officers and the CME team; auditors read places.
PLACES_EDIT = SEE_ALL | {Role.ADMISSIONS}
PLACES_SEE = PLACES_EDIT | {Role.AUDITOR}
#: The home-education list: kept by the CME team; the Virtual School reads its children in
#: care; consent decisions are managers'. The children-not-in-school register: CME team
#: (and 404 for everyone while the section has not commenced, as here by default).
HOME_ED_READ = SEE_ALL | {Role.VIRTUAL_SCHOOL}
MANAGER = frozenset({Role.CME_MANAGER})
#: Who records tracking work and corrects a child's details from a case: the CME team, SLOs
#: (their cases), the Virtual School (children in care); safeguarding advisers see the case
#: but are refused (casework.selectors.may_record_tracking).
TRACKING_WRITE = CASE_ROLES - {Role.SAFEGUARDING_ADVISER}


@dataclass(frozen=True)
class Entry:
    """One URL: the methods tried and who may use it.

    ``roles``: the roles the page serves; everyone else gets 403 or 404. ``None`` means
    the page serves every signed-in role and narrows what it shows by scope.
    ``public``: reachable without signing in. ``audit_trail``: shows audit rows, so an
    auditor sees summaries naming children (the auditor's job). ``subject_access``: a CME
    manager's export of everything held, restricted addresses included and marked."""

    methods: tuple[str, ...] = ("GET",)
    roles: frozenset[Role] | None = None
    public: bool = False
    audit_trail: bool = False
    subject_access: bool = False
    #: Values for path parameters that are not record ids (a figure's key, a file format).
    fixed: tuple[tuple[str, str], ...] = ()


GET, POST, GET_POST = ("GET",), ("POST",), ("GET", "POST")

REGISTRY: dict[str, Entry] = {
    # core and accounts
    "home": Entry(),
    "login": Entry(public=True),
    "logout": Entry(methods=POST),
    "accessibility": Entry(public=True),
    "privacy": Entry(public=True),
    # operations (docs/operations.md): the health probe, and Prometheus metrics (a 404
    # unless switched on, and then only for the allowed addresses); no sign-in, no records
    "health": Entry(public=True),
    "metrics": Entry(public=True),
    "accounts:two-factor-set-up": Entry(),
    "accounts:two-factor-verify": Entry(),
    # audit and data protection
    "audit:search": Entry(roles=frozenset({Role.AUDITOR}), audit_trail=True),
    "audit:export": Entry(roles=frozenset({Role.AUDITOR}), audit_trail=True),
    "dataprotection:subject-access": Entry(
        roles=frozenset({Role.CME_MANAGER}), subject_access=True
    ),
    "dataprotection:subject-access-json": Entry(
        roles=frozenset({Role.CME_MANAGER}), subject_access=True
    ),
    # a child's record
    "people:child-detail": Entry(roles=CASE_ROLES),
    "people:restricted-access": Entry(methods=GET_POST, roles=frozenset({Role.CME_MANAGER})),
    "people:restricted-access-remove": Entry(methods=POST, roles=frozenset({Role.CME_MANAGER})),
    # referrals (the front door)
    "referrals:list": Entry(),
    "referrals:school-pick": Entry(roles=frozenset({Role.SCHOOL_USER})),
    "referrals:school-new": Entry(methods=GET_POST, roles=frozenset({Role.SCHOOL_USER})),
    "referrals:school-check": Entry(methods=GET_POST, roles=frozenset({Role.SCHOOL_USER})),
    "referrals:agency-new": Entry(roles=frozenset({Role.AGENCY_USER})),
    "referrals:agency-check": Entry(methods=GET_POST, roles=frozenset({Role.AGENCY_USER})),
    "referrals:triage-queue": Entry(),
    "referrals:detail": Entry(),
    "referrals:submitted": Entry(),
    "referrals:triage": Entry(methods=GET_POST),
    "referrals:public-report": Entry(public=True),
    "referrals:public-check": Entry(public=True),
    "referrals:public-sent": Entry(public=True),
    # cases
    "cases:queue": Entry(),
    "cases:case-detail": Entry(roles=CASE_ROLES),
    "cases:case-chronology": Entry(roles=CASE_ROLES),
    "cases:case-action": Entry(methods=GET_POST, roles=CASE_ROLES),
    # casework (tracking)
    "casework:my-tasks": Entry(),
    "casework:no-recent-contact": Entry(),
    "casework:case-tracking": Entry(roles=CASE_ROLES),
    "casework:check-record": Entry(methods=POST, roles=CASE_ROLES),
    "casework:checklist-record": Entry(methods=POST, roles=TRACKING_WRITE),
    # correcting the child's details, address and parents or carers from the case
    "casework:child-details": Entry(methods=GET_POST, roles=TRACKING_WRITE),
    "casework:contact-record": Entry(methods=POST, roles=CASE_ROLES),
    "casework:note-add": Entry(methods=POST, roles=CASE_ROLES),
    "casework:task-add": Entry(methods=POST, roles=CASE_ROLES),
    "casework:task-complete": Entry(methods=POST, roles=CASE_ROLES),
    # reports and figures (issue 7): CME officers and managers, auditors (figures only)
    "reports:dashboard": Entry(roles=REPORT_ROLES),
    "reports:figure": Entry(roles=REPORT_ROLES, fixed=(("key", "cme"),)),
    "reports:figure-cases": Entry(roles=REPORT_ROLES, fixed=(("key", "cme"),)),
    "reports:trends": Entry(roles=REPORT_ROLES),
    "reports:pace": Entry(roles=REPORT_ROLES),
    "reports:pace-over": Entry(roles=REPORT_ROLES),
    "reports:dfe-return": Entry(roles=REPORT_ROLES),
    "reports:dfe-submission": Entry(roles=REPORT_ROLES),  # counts only, as submitted
    "reports:termly-history": Entry(methods=GET_POST, roles=REPORT_ROLES),
    "reports:termly-issuing": Entry(roles=REPORT_ROLES),  # the issuer's own token only
    "reports:termly-detail": Entry(roles=REPORT_ROLES),
    "reports:termly-pdf": Entry(roles=REPORT_ROLES),
    "reports:checklist": Entry(methods=GET_POST, roles=REPORT_ROLES),
    "reports:checklist-point": Entry(roles=REPORT_ROLES),
    "reports:export": Entry(roles=REPORT_ROLES, fixed=(("name", "cases"), ("fmt", "csv"))),
    # detection alerts (issue 6)
    "detection:alert-list": Entry(),
    "detection:alert-detail": Entry(),
    "detection:alert-refer": Entry(methods=GET_POST),
    "detection:alert-acknowledge": Entry(methods=POST),
    "detection:alert-dismiss": Entry(methods=GET_POST),
    "detection:alert-attach": Entry(methods=GET_POST),
    "detection:upload": Entry(methods=GET_POST),
    "detection:deletion-return": Entry(methods=GET_POST),
    # matching: find a child across registers
    "matching:find-a-child": Entry(methods=GET_POST),
    # safeguarding (risk assessments, screening, dormant reviews)
    "safeguarding:reviews": Entry(),
    "safeguarding:to-authorise": Entry(roles=MANAGER),
    "safeguarding:case": Entry(roles=CASE_ROLES),
    "safeguarding:screening": Entry(methods=GET_POST, roles=CASE_ROLES),
    "safeguarding:risk-assessment-new": Entry(methods=GET_POST, roles=CASE_ROLES),
    "safeguarding:risk-assessment": Entry(roles=CASE_ROLES),
    "safeguarding:risk-assessment-authorise": Entry(methods=POST, roles=CASE_ROLES),
    "safeguarding:risk-assessment-print": Entry(roles=CASE_ROLES),
    "safeguarding:risk-assessment-pdf": Entry(roles=CASE_ROLES),
    "safeguarding:make-dormant": Entry(methods=POST, roles=CASE_ROLES),
    "safeguarding:review-new": Entry(methods=GET_POST, roles=CASE_ROLES),
    "safeguarding:virtual-school-tell": Entry(methods=POST, roles=CASE_ROLES),
    # Virtual School: children in care (issue 10); CME officers and managers read too.
    # (API writes validate the body before the role is checked: virtualschool/tests.)
    "virtualschool:dashboard": Entry(roles=CIC_ROLES),
    "virtualschool:records": Entry(roles=CIC_ROLES),
    "virtualschool:record-new": Entry(methods=GET_POST, roles=CIC_ROLES),
    "virtualschool:record": Entry(roles=CIC_ROLES),
    "virtualschool:record-edit": Entry(methods=GET_POST, roles=CIC_ROLES),
    "virtualschool:placement-new": Entry(methods=GET_POST, roles=CIC_ROLES),
    "virtualschool:placement-school": Entry(methods=GET_POST, roles=CIC_ROLES),
    "virtualschool:placement-alert-resolve": Entry(methods=POST, roles=VS_ONLY),
    "virtualschool:attendance-alert-acknowledge": Entry(methods=POST, roles=VS_ONLY),
    "virtualschool:attendance-alert-dismiss": Entry(methods=POST, roles=VS_ONLY),
    "virtualschool:pep-new": Entry(methods=GET_POST, roles=VS_ONLY),
    "virtualschool:pep": Entry(roles=CIC_ROLES),
    "virtualschool:pep-edit": Entry(methods=GET_POST, roles=VS_ONLY),
    "virtualschool:pep-review": Entry(methods=GET_POST, roles=VS_ONLY),
    "virtualschool:pep-print": Entry(roles=CIC_ROLES),
    "virtualschool:pep-pdf": Entry(roles=CIC_ROLES),
    "api:cic_records_list": Entry(roles=CIC_ROLES),
    "api:cic_record_create": Entry(methods=POST),
    "api:cic_record_get": Entry(roles=CIC_ROLES),
    "api:cic_record_patch": Entry(methods=("PATCH",)),
    "api:cic_placement_create": Entry(methods=POST),
    "api:cic_peps_list": Entry(roles=CIC_ROLES),
    "api:cic_pep_create": Entry(methods=POST),
    "api:cic_pep_get": Entry(roles=CIC_ROLES),
    "api:cic_pep_patch": Entry(methods=("PATCH",)),
    "api:cic_pep_review": Entry(methods=POST),
    "api:deletion_return_create": Entry(methods=POST),
    # inter-authority enquiries (issue 9): the CME team works them, auditors read them;
    # the directory of authorities for every LA role, changed by administrators only.
    "enquiries:index": Entry(roles=ENQ_SEE),
    "enquiries:schema": Entry(public=True),
    "enquiries:directory": Entry(roles=DIRECTORY),
    "enquiries:authority-edit": Entry(methods=GET_POST, roles=ADMIN_ONLY),
    "enquiries:authority-confirm": Entry(methods=POST, roles=ADMIN_ONLY),
    "enquiries:case": Entry(roles=SEE_ALL),
    "enquiries:outgoing-new": Entry(methods=GET_POST, roles=SEE_ALL),
    "enquiries:move-notice": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:move-notice-acknowledge": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:move-notice-letter": Entry(roles=SEE_ALL),
    "enquiries:move-notice-pdf": Entry(roles=SEE_ALL),
    "enquiries:move-notice-json": Entry(roles=SEE_ALL),
    "enquiries:home-office": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:outgoing-detail": Entry(roles=SEE_ALL),
    "enquiries:outgoing-letter": Entry(roles=SEE_ALL),
    "enquiries:outgoing-letter-pdf": Entry(roles=SEE_ALL),
    "enquiries:outgoing-json": Entry(roles=SEE_ALL),
    "enquiries:outgoing-acknowledge": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:outgoing-chase": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:outgoing-reply": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:outgoing-reply-import": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:outgoing-close": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-new": Entry(methods=GET_POST, roles=SEE_ALL),
    "enquiries:incoming-detail": Entry(roles=SEE_ALL),
    "enquiries:incoming-search": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-match": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-assess": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-visit": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-reply": Entry(methods=POST, roles=SEE_ALL),
    "enquiries:incoming-reply-json": Entry(roles=SEE_ALL),
    "api:enquiry_list": Entry(roles=SEE_ALL),
    "api:enquiry_create": Entry(methods=POST),
    "api:enquiry_batch": Entry(methods=POST),
    "api:enquiry_get": Entry(roles=SEE_ALL),
    "api:enquiry_document": Entry(roles=SEE_ALL),
    "api:enquiry_reply": Entry(methods=POST),
    "api:enquiry_reply_import": Entry(methods=POST),
    "api:enquiry_acknowledge": Entry(methods=POST),
    "api:enquiry_chase": Entry(methods=POST),
    "api:enquiry_close": Entry(methods=POST),
    "api:incoming_list": Entry(roles=SEE_ALL),
    "api:incoming_create": Entry(methods=POST),
    "api:incoming_get": Entry(roles=SEE_ALL),
    "api:incoming_search": Entry(methods=POST),
    "api:incoming_match": Entry(methods=POST),
    "api:incoming_assess": Entry(methods=POST),
    "api:incoming_visit": Entry(methods=POST),
    "api:incoming_reply": Entry(methods=POST),
    "api:incoming_reply_document": Entry(roles=SEE_ALL),
    "api:local_authorities": Entry(roles=DIRECTORY),
    # transfer files and the lost-pupil area
    "transfers:upload": Entry(methods=GET_POST, roles=TRANSFER_UPLOAD),
    "transfers:lost-pupils": Entry(methods=GET_POST, roles=SEE_ALL),
    "transfers:lost-pupil": Entry(roles=SEE_ALL),
    "transfers:lost-pupil-forward": Entry(methods=POST, roles=SEE_ALL),
    "transfers:lost-pupil-close": Entry(methods=POST, roles=SEE_ALL),
    "transfers:requests": Entry(roles=SEE_ALL | {Role.SCHOOL_USER}),
    "transfers:request-new": Entry(methods=GET_POST, roles=frozenset({Role.SCHOOL_USER})),
    "transfers:request": Entry(roles=SEE_ALL | {Role.SCHOOL_USER}),
    "transfers:request-forward": Entry(methods=POST, roles=SEE_ALL),
    "transfers:request-not-found": Entry(methods=POST, roles=SEE_ALL),
    "transfers:file-download": Entry(roles=SEE_ALL | {Role.SCHOOL_USER}),
    "transfers:child-export": Entry(methods=GET_POST, roles=SEE_ALL),
    "transfers:activity": Entry(roles=REPORT_ROLES),
    "provision:places": Entry(roles=PLACES_SEE),
    "provision:export": Entry(roles=PLACES_SEE),
    "provision:provider": Entry(methods=GET_POST, roles=PLACES_SEE),
    "api:places_list": Entry(roles=PLACES_SEE),
    "provision:import": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:provider-profile": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:recommend": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:application-add": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:application-outcome": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:panel-refer": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:panel-decision": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:start": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:start-again": Entry(methods=GET_POST, roles=PLACES_EDIT),
    "provision:delays": Entry(roles=PLACES_EDIT),
    "provision:case": Entry(roles=PLACES_EDIT),
    "api:case_shortlist": Entry(roles=PLACES_EDIT),
    "api:places_record": Entry(methods=POST),
    "detection:import-list": Entry(roles=TRANSFER_UPLOAD),
    "detection:import-run": Entry(roles=TRANSFER_UPLOAD),
    "detection:import-progress": Entry(roles=TRANSFER_UPLOAD),
    # feeds without uploads and their freshness (issue 18)
    "detection:feed-freshness": Entry(roles=TRANSFER_UPLOAD),
    "api:feed_send": Entry(methods=POST, fixed=(("kind", "allocations"),)),
    "api:feed_run": Entry(),
    "casework:registers:list": Entry(roles=HOME_ED_READ),
    "casework:registers:detail": Entry(roles=HOME_ED_READ),
    "casework:registers:add": Entry(methods=GET_POST, roles=SEE_ALL),
    "casework:registers:concern": Entry(methods=GET_POST, roles=SEE_ALL),
    "casework:registers:end": Entry(methods=GET_POST, roles=SEE_ALL),
    "casework:registers:notice": Entry(methods=POST, roles=SEE_ALL),
    "casework:registers:reason": Entry(methods=POST, roles=SEE_ALL),
    "casework:registers:consents": Entry(methods=GET_POST, roles=SEE_ALL),
    "casework:registers:consent-decide": Entry(methods=GET_POST, roles=MANAGER),
    "casework:consultations": Entry(methods=GET_POST, roles=CASE_ROLES),
    "api:home_education_list": Entry(),  # everyone else: an empty list
    "api:home_education_get": Entry(roles=HOME_ED_READ),
    "api:home_education_figures": Entry(roles=SEE_ALL | {Role.AUDITOR}),
    "api:home_education_add": Entry(methods=POST),
    "api:concern_record": Entry(methods=POST),
    "api:record_end": Entry(methods=POST),
    "api:record_notice": Entry(methods=POST),
    "api:record_reason": Entry(methods=POST),
    "api:consent_list": Entry(),  # everyone else: an empty list
    "api:consent_request": Entry(methods=POST),
    "api:consent_decide": Entry(methods=POST),
    "api:consultations_list": Entry(roles=CASE_ROLES),
    "api:consultations_record": Entry(methods=POST),
    "cnis:register": Entry(roles=SEE_ALL),
    "cnis:completeness": Entry(roles=SEE_ALL),
    "cnis:export": Entry(roles=SEE_ALL),
    "cnis:child": Entry(methods=GET_POST, roles=SEE_ALL),
    "api:register": Entry(roles=SEE_ALL),
    "api:completeness": Entry(roles=SEE_ALL),
    "api:upload_ctf": Entry(methods=POST),
    "api:search_lost_pupils": Entry(methods=POST, roles=SEE_ALL),
    # the API
    "api:api-root": Entry(),
    "api:list_alerts": Entry(),
    "api:get_alert": Entry(),
    "api:children_search": Entry(methods=POST),
    "api:screenings_list": Entry(),
    "api:screenings_record": Entry(methods=POST),
    "api:risk_assessments_list": Entry(),
    "api:risk_assessments_record": Entry(methods=POST),
    "api:risk_assessments_authorise": Entry(methods=POST),
    "api:reviews_list": Entry(),
    "api:reviews_record": Entry(methods=POST),
    "api:review_queues": Entry(),
    "api:figures": Entry(),
    "api:figure": Entry(fixed=(("key", "cme"),)),
    "api:pace": Entry(),
    "api:dfe_return": Entry(),
    # the DfE returns submitted (counts): read by report roles, submitted by managers and
    # senior managers; the list needs ?season&year (422 before the role is checked)
    "api:dfe_submissions": Entry(),
    "api:dfe_submit": Entry(methods=POST),
    "api:dfe_submission_file": Entry(roles=REPORT_ROLES),
    "api:openapi-json": Entry(),
    "api:openapi-view": Entry(),
    "api:whoami": Entry(),
    "api:organisations": Entry(),
    "api:create_school_referral": Entry(methods=POST),
    "api:create_agency_referral": Entry(methods=POST),
    "api:list_referrals": Entry(),
    "api:get_referral": Entry(),
    "api:case_list": Entry(),
    "api:queue_get": Entry(),
    "api:case_get": Entry(),
    "api:case_chronology": Entry(),
    "api:case_transition": Entry(methods=POST),
    # what pages do on a case, over the API (issue 16): triage, departure, provision steps
    "api:triage_list": Entry(roles=frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO})),
    "api:possible_duplicates": Entry(
        roles=frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO})
    ),
    "api:triage": Entry(methods=POST),
    "api:move_notices_list": Entry(roles=SEE_ALL),
    "api:move_notice_send": Entry(methods=POST),
    "api:move_notice_acknowledge": Entry(methods=POST),
    "api:move_notice_document": Entry(roles=SEE_ALL),
    "api:home_office_checks_list": Entry(roles=SEE_ALL),
    "api:home_office_check_record": Entry(methods=POST),
    "api:applications_list": Entry(roles=PLACES_EDIT),
    "api:application_record": Entry(methods=POST),
    "api:application_outcome": Entry(methods=POST),
    "api:panel_referrals_list": Entry(roles=PLACES_EDIT),
    "api:panel_refer": Entry(methods=POST),
    "api:panel_decide": Entry(methods=POST),
    "api:provision_recommend": Entry(methods=POST),
    "api:provision_start": Entry(methods=POST),
    "api:provision_start_again": Entry(methods=POST),
    "api:virtual_school_tell": Entry(methods=POST),
    "api:refer_alert": Entry(methods=POST),
    "api:acknowledge_alert": Entry(methods=POST),
    "api:dismiss_alert": Entry(methods=POST),
    "api:attach_alert": Entry(methods=POST),
    # the kinds of problem (the `type` of every error document): public, no records
    "api:problem_kinds": Entry(public=True),
    "api:problem_kind": Entry(public=True, fixed=(("code", "not_found"),)),
    "api:checks_list": Entry(),
    "api:checks_record": Entry(methods=POST),
    "api:contacts_list": Entry(),
    "api:contacts_record": Entry(methods=POST),
    "api:notes_list": Entry(),
    "api:notes_add": Entry(methods=POST),
    "api:case_tasks_list": Entry(),
    "api:case_tasks_create": Entry(methods=POST),
    "api:my_tasks": Entry(),
    "api:task_complete": Entry(methods=POST),
    "api:task_reassign": Entry(methods=POST),
    # notifications: each person's email settings; managers' list of emails sent; Notify's
    # delivery receipts (no session: a bearer token, 401 without it)
    "notifications:preferences": Entry(methods=GET_POST),
    "notifications:messages": Entry(roles=frozenset({Role.CME_MANAGER, Role.ADMINISTRATOR})),
    "notifications:receipts": Entry(methods=POST, public=True),
    "api:notification_preferences_get": Entry(),
    "api:notification_preferences_set": Entry(methods=POST),
}

#: URL names covered elsewhere: the admin site (administrators only, accounts/tests).
EXEMPT_NAMESPACES = ("admin:",)

#: What a URL parameter refers to. Unknown parameters get a guessed value.
PARAM_KINDS = {"child_id": "child", "case_id": "case", "reference": "referral"}
GUESSED = {"int": 987_654, "str": "R-ZZZZZZZZ", "slug": "close", "path": "x"}
#: Path parameters with fixed meanings that are not record ids.
FIXED_PARAMS = {"action": "close", "name": "open"}


def guessed(conv: str, name: str) -> Any:
    """A value nobody has: ids are numbers (ninja's <case_id> has no converter)."""
    if name == "reference":
        return GUESSED["str"]
    if conv == "int" or name.endswith("_id"):
        return GUESSED["int"]
    return GUESSED.get(conv, GUESSED["str"])


def _walk(patterns: list[Any], prefix: str = "", ns: str = "") -> list[tuple[str, str]]:
    found = []
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}{p.namespace}:" if p.namespace else ns
            found += _walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern) and p.name:
            found.append((f"{ns}{p.name}", prefix + str(p.pattern)))
    return found


def url_routes() -> dict[str, str]:
    """Every named URL (except exempt namespaces) → its route."""
    return {
        name: route
        for name, route in _walk(get_resolver().url_patterns)
        if not name.startswith(EXEMPT_NAMESPACES)
    }


def route_params(route: str) -> list[tuple[str, str]]:
    """(converter, name) of each parameter: Django's <int:x> and ninja's <x>."""
    params = []
    for raw in re.findall(r"<([^>]+)>", route):
        conv, _, name = raw.rpartition(":")
        params.append((conv or "str", name))
    return params


def test_every_url_is_in_the_registry():
    routes = url_routes()
    missing = sorted(set(routes) - set(REGISTRY))
    stale = sorted(set(REGISTRY) - set(routes))
    assert not missing, f"Add these URLs to REGISTRY in {__name__} (who may use them): {missing}"
    assert not stale, f"These REGISTRY entries no longer exist; remove them: {stale}"


# --- the world: another school's child, case and referral, and one user per role --------

FOREIGN_CHILD = "Qzxforeignchild"
FOREIGN_REFERRAL = "Qzxreferralb"
RESTRICTED_LINE = "Qzx Hidden Mews"


@dataclass
class World:
    users: dict[Role, Any]
    child: Any
    case: Any
    referral: Any
    school_b: Any

    def value(self, kind: str) -> Any:
        return {"child": self.child.pk, "case": self.case.pk,
                "referral": self.referral.reference}[kind]  # fmt: skip


@pytest.fixture
def world(make_user: Any) -> World:
    system = Actor.system("test")
    school_a, school_b, agency = (
        SchoolFactory.create(),
        SchoolFactory.create(),
        AgencyFactory.create(),
    )
    child = ChildFactory.create(legal_given_names="Ivo", legal_family_name=FOREIGN_CHILD)
    child_add_address(actor=system, child=child, line1=RESTRICTED_LINE, postcode="QZ9 9QZ",
                      is_restricted=True)  # fmt: skip
    case = CaseFactory.create(child=child, state="tracking", last_education_school=school_b,
                              date_referred=dt.date(2026, 10, 1))  # fmt: skip
    referral = referral_record(actor=system, route=ReferralRoute.SCHOOL, given_names="Rory",
                               family_name=FOREIGN_REFERRAL, reason="Stopped attending",
                               referring_organisation=school_b, school=school_b)  # fmt: skip
    slo = make_user(Role.SLO)
    slo.linked_schools.set([school_a])
    users = {
        Role.SCHOOL_USER: make_user(Role.SCHOOL_USER, organisation=school_a),
        Role.AGENCY_USER: make_user(Role.AGENCY_USER, organisation=agency),
        Role.SLO: slo,
        Role.ADMINISTRATOR: make_user(Role.ADMINISTRATOR, is_staff=True),
    }
    for role in Role:
        users.setdefault(role, make_user(role))
    return World(users=users, child=child, case=case, referral=referral, school_b=school_b)


def forbidden_texts(role: Role, entry: Entry) -> list[str]:
    texts = []
    if not (entry.subject_access and role == Role.CME_MANAGER):
        texts.append(RESTRICTED_LINE)
    if role not in SEE_ALL and not (entry.audit_trail and role == Role.AUDITOR):
        texts += [FOREIGN_CHILD, FOREIGN_REFERRAL]
    return texts


def attack_query(world: World) -> dict[str, Any]:
    """Filters a curious user might add to a list, search or export. Searches use a prefix
    of the names, so a page that echoes the search back does not count as a leak."""
    b, child, case = world.school_b.pk, world.child.pk, world.case.pk
    return {
        "q": FOREIGN_CHILD[:-3],
        "search": FOREIGN_REFERRAL[:-3],
        **dict.fromkeys(("school", "organisation", "referring_organisation", "school_id"), b),
        **dict.fromkeys(("child", "child_id"), child),
        "case": case,
        "reference": world.referral.reference,
        "status": "received",
        "queue": "all",
        "page": 1,
    }


DENIED_PAGE = {403, 404}
DENIED_API = {401, 403, 404}
#: A write with a body the API refuses (422) or a form that re-displays is not a leak so
#: long as nothing is written and nothing is shown; both are checked.
DENIED_WRITE = DENIED_PAGE | {400, 405, 422}


def request(client: Any, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    if method == "GET":
        return client.get(url, data or {})
    if method == "PATCH":
        return client.patch(url, data or {}, content_type="application/json")
    if url.startswith("/api/"):
        return client.post(url, data or {}, content_type="application/json")
    return client.post(url, data or {})


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return str(response.content.decode(errors="replace"))


@dataclass(frozen=True)
class Attempt:
    """One request a role makes: ``target`` is "guessed", "foreign" or None (no record id)."""

    method: str
    url: str
    target: str | None
    query: dict[str, Any] | None = None

    def expected(self) -> set[int]:
        if self.method in {"POST", "PATCH"}:
            return DENIED_WRITE
        return DENIED_API if self.url.startswith("/api/") else DENIED_PAGE


def attempts(world: World, role: Role, name: str, entry: Entry, route: str) -> list[Attempt]:
    """Every request ``role`` makes to this URL: each record id it must not see (another
    school's, then a guessed one), or for lists the page plain and with attack filters."""
    params = route_params(route)
    has_records = any(p in PARAM_KINDS for _, p in params)
    fixed = {**FIXED_PARAMS, **dict(entry.fixed)}
    out: list[Attempt] = []
    for method in entry.methods:
        for target in ("guessed", "foreign") if has_records else (None,):
            kwargs: dict[str, Any] = {}
            out_of_scope = target == "guessed"
            for conv, p in params:
                if p in fixed:
                    kwargs[p] = fixed[p]
                elif p in PARAM_KINDS and target == "foreign":
                    kwargs[p] = world.value(PARAM_KINDS[p])
                    out_of_scope = out_of_scope or role not in SEE_ALL
                else:
                    kwargs[p] = guessed(conv, p)
            if target == "foreign" and not out_of_scope:
                continue  # this role may see the record: not a negative test
            url = reverse(name, kwargs=kwargs or None)
            out.append(Attempt(method, url, target))
            if target is None and method == "GET":
                out.append(Attempt(method, url, target, attack_query(world)))
    return out


def unknown_query_names(response: Any) -> set[str]:
    """The query parameters an API answer refused as not the endpoint's (empty for any
    other answer)."""
    if response.status_code != 422 or not response.get("Content-Type", "").startswith(
        "application/problem+json"
    ):
        return set()
    errors = response.json().get("errors", [])
    if not errors or not all("is not a query parameter" in e["message"] for e in errors):
        return set()
    return {e["field"] for e in errors}


def check(client: Any, role: Role, entry: Entry, attempt: Attempt) -> list[str]:
    response = request(client, attempt.method, attempt.url, attempt.query)
    if attempt.query and attempt.url.startswith("/api/"):
        # The API refuses filters it does not take (422, by name): attack it with those
        # of the attack filters it does take, as a curious user reading its docs would.
        unknown = unknown_query_names(response)
        if unknown:
            query = {k: v for k, v in attempt.query.items() if k not in unknown}
            if not query:
                return []  # none of the filters is this endpoint's: the plain try covers it
            response = request(client, attempt.method, attempt.url, query)
    status, body = response.status_code, body_of(response)
    where = (
        f"{role.value} {attempt.method} {attempt.url}{' + attack query' if attempt.query else ''}"
    )
    problems = [f"{where}: shows {t!r}" for t in forbidden_texts(role, entry) if t in body]
    if status >= 500:
        problems.append(f"{where}: server error {status}")
    if attempt.target is not None and status not in attempt.expected():
        problems.append(f"{where}: {status}, expected one of {sorted(attempt.expected())}")
    refused = entry.roles is not None and role not in entry.roles and not entry.public
    if attempt.target is None and refused and status not in DENIED_PAGE | {405}:
        problems.append(f"{where}: {status}, but {role.value} may not use it")
    return problems


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_cannot_reach_or_see_what_it_must_not(world, client, role):
    client.force_login(world.users[role])
    routes = url_routes()
    about_child = AuditEvent.objects.filter(child_id=world.child.pk)
    failures: list[str] = []
    for name, entry in sorted(REGISTRY.items()):
        if name == "logout" or name not in routes:
            continue  # signing out ends the session the rest of the matrix uses
        for attempt in attempts(world, role, name, entry, routes[name]):
            before = about_child.count()
            failures += check(client, role, entry, attempt)
            if role not in SEE_ALL and about_child.count() != before:
                failures.append(
                    f"{role.value} {attempt.method} {attempt.url}: wrote about the child"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_anonymous_people_get_nothing(world, client, name):
    entry = REGISTRY[name]
    routes = url_routes()
    if name not in routes or entry.public:
        return
    kwargs = {}
    fixed = {**FIXED_PARAMS, **dict(entry.fixed)}
    for conv, p in route_params(routes[name]):
        kwargs[p] = fixed.get(p) or (
            world.value(PARAM_KINDS[p]) if p in PARAM_KINDS else guessed(conv, p)
        )
    url = reverse(name, kwargs=kwargs or None)
    for method in entry.methods:
        response = request(client, method, url)
        body = body_of(response)
        assert FOREIGN_CHILD not in body, url
        assert FOREIGN_REFERRAL not in body, url
        assert RESTRICTED_LINE not in body, url
        if name in {"api:openapi-json", "api:openapi-view", "api:api-root"}:
            continue  # the API's description is public; its data is not
        if url.startswith("/api/"):
            assert response.status_code in {401, 403, 404, 405}, (method, url)
        else:
            assert response.status_code in {302, 403, 404, 405}, (method, url)
            if response.status_code == 302:
                assert response["Location"].startswith("/sign-in/"), (method, url)


def test_admin_site_is_for_administrators_only(world, client):
    for role in Role:
        client.force_login(world.users[role])
        response = client.get("/admin/")
        if role == Role.ADMINISTRATOR:
            assert response.status_code == 200
            # Administrators manage users and reference data, never case content.
            for path in ("/admin/people/child/", "/admin/cases/case/",
                         "/admin/referrals/referral/", "/admin/audit/auditevent/"):  # fmt: skip
                assert client.get(path).status_code in {403, 404}, path
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")


def test_school_user_cannot_find_another_schools_referral_through_api_filters(world, client):
    client.force_login(world.users[Role.SCHOOL_USER])
    for query in (
        {},
        {"route": "school"},
        attack_query(world),
        {"reference": world.referral.reference},
    ):
        response = client.get("/api/v1/referrals", query)
        # Filters the endpoint does not take are refused by name (422) and show nothing.
        assert response.status_code in {200, 403, 422}
        if response.status_code == 422:
            assert unknown_query_names(response) == set(query) - {"route", "limit", "offset"}
        assert FOREIGN_REFERRAL not in response.content.decode()
        if response.status_code == 200:
            data = response.json()
            items = data.get("items", data) if isinstance(data, dict) else data
            assert all(world.referral.reference not in str(i) for i in items)
    response = client.get(f"/api/v1/referrals/{world.referral.reference}")
    assert response.status_code in {403, 404}
