"""The catalogue of messages cmetrack sends (docs/notifications.md).

Each kind names its Notify template (``CMETRACK_NOTIFY_TEMPLATES[key]``), the placeholders
the template uses, whether the authority's policy requires it (a person cannot switch it
off) and a plain-text form used by the console and file backends and by the daily digest.
Every kind has the placeholders ``reference`` (a case, referral or enquiry reference) and
``about``: the child's name only for a recipient on a secure domain, otherwise the
reference again (``services.notification_send`` decides).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from cmetrack.accounts.roles import Role

CME_TEAM = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})


class Frequency(models.TextChoices):
    AT_ONCE = "at_once", "At once, one email each"
    DAILY = "daily", "In one email a day (a daily digest)"
    OFF = "off", "Off: do not email me"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    who: str
    subject: str
    body: str
    required: bool = False
    #: Sent to addresses outside the service (schools, other authorities): no preferences.
    external: bool = False
    #: The roles that get it (the settings page offers it to them); empty: anyone.
    roles: frozenset[str] = frozenset()

    def for_user(self, role_set: frozenset[str]) -> bool:
        return not self.roles or bool(self.roles & role_set)

    def placeholders(self) -> list[str]:
        import string

        names = {f for _, f, _, _ in string.Formatter().parse(self.body + self.subject) if f}
        return sorted(names | {"reference", "about", "link"})

    def render(self, personalisation: dict[str, str]) -> tuple[str, str]:
        values = _Missing(personalisation)
        return self.subject.format_map(values), self.body.format_map(values)


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


KINDS: dict[str, Kind] = {
    k.key: k
    for k in [
        Kind(
            "task_assigned",
            "A task given to you",
            "The person the task is given to (not when they gave it to themselves).",
            "Task on {reference}: {title}",
            "You have a task on {reference}, due {due}: {title}. {link}",
            roles=frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL}),
        ),
        Kind(
            "risk_assessment_awaiting",
            "A risk assessment waiting for your authorisation",
            "CME managers, except the officer who completed it.",
            "Risk assessment on {reference} waits for authorisation",
            "A {level} risk assessment on {reference} by {officer} waits for a manager to "
            "authorise it. {link}",
            required=True,
            roles=frozenset({Role.CME_MANAGER}),
        ),
        Kind(
            "dormant_review_due",
            "A dormant review due in 7 days",
            "The case's assigned officer.",
            "Dormant review of {reference} due {due}",
            "The monthly dormant review of {reference} is due on {due}. {link}",
            roles=CME_TEAM,
        ),
        Kind(
            "dormant_review_overdue",
            "A dormant review overdue",
            "The case's assigned officer.",
            "Dormant review of {reference} overdue",
            "The monthly dormant review of {reference} was due on {due}. {link}",
            roles=CME_TEAM,
        ),
        Kind(
            "enquiry_reply_due",
            "An enquiry reply due",
            "The case's assigned officer.",
            "Reply to enquiry {reference} due {due}",
            "The reply from {authority} to enquiry {reference} is due on {due}. {link}",
            roles=CME_TEAM,
        ),
        Kind(
            "enquiry_reply_overdue",
            "An enquiry reply overdue",
            "The case's assigned officer.",
            "No reply to enquiry {reference}",
            "{authority} has not replied to enquiry {reference}, due {due}: chase it or "
            "record its answer. {link}",
            roles=CME_TEAM,
        ),
        Kind(
            "enquiry_outgoing",
            "An enquiry to another authority",
            "The other authority's named CME contact (its secure address in the directory).",
            "Children missing education enquiry {reference} from {sender_authority}",
            "{contact_name}, {sender_authority} asks whether a child it is looking for is "
            "known to {authority} (enquiry {reference}). Please reply by {due}. "
            "{document}",
            required=True,
            external=True,
        ),
        Kind(
            "referral_acknowledgement",
            "The acknowledgement of a referral",
            "The school or agency that referred (the person who sent it).",
            "Referral received: {reference}",
            "{authority} has received your referral. Its reference is {reference}: quote it "
            "if you contact us.",
            required=True,
            roles=frozenset({Role.SCHOOL_USER, Role.AGENCY_USER}),
        ),
        Kind(
            "off_roll_advice",
            "The SLO's advice that a pupil may come off roll",
            "The school's users (the school on the case).",
            "Off-roll advice for {reference}",
            "{school} may take the pupil on case {reference} off roll from {date}. {link}",
            required=True,
            roles=frozenset({Role.SCHOOL_USER}),
        ),
        Kind(
            "slo_visit_request",
            "A home visit asked of you by the CME team",
            "The School Liaison Officer asked (county procedure 5.3).",
            "Home visit asked on {reference}",
            "The CME team asks you for a home visit on {reference}: tracking and contacts "
            "had no response. {reason} Record the visit on the case. {link}",
            required=True,
            roles=frozenset({Role.SLO}),
        ),
        Kind(
            "missing_from_care",
            "A child in care missing from care",
            "The case's assigned officer, or the CME team when nobody is assigned "
            "(county procedure 5.4).",
            "Missing from care: {reference}",
            "The child on {reference} has been missing from care since {since}. The social "
            "worker, {social_worker}, follows the missing from home or care protocol. {link}",
            required=True,
            roles=CME_TEAM,
        ),
        Kind(
            "import_failed",
            "An import that failed",
            "The person who uploaded the file.",
            "Import failed: {file}",
            "The {import_kind} import of {file} failed: {error}. {link}",
            roles=frozenset(
                {Role.CME_OFFICER, Role.CME_MANAGER, Role.ADMINISTRATOR, Role.SCHOOL_USER}
            ),
        ),
        Kind(
            "feed_stale",
            "A school's attendance feed gone stale",
            "CME managers and officers (there is no attendance team role).",
            "No attendance from {school} since {last}",
            "{school} has sent no attendance since {last} ({days} school days). {link}",
            roles=CME_TEAM,
        ),
        Kind(
            "digest",
            "The daily digest",
            "Anyone who chose a daily digest for some messages.",
            "cmetrack: {count} message(s) today",
            "{items}",
            required=True,
        ),
    ]
}

#: Kinds a person may set a preference for (the digest itself and external ones are not).
PERSONAL_KINDS = [k for k in KINDS.values() if k.key != "digest" and not k.external]


def kind(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(f"unknown notification kind {key!r}") from None
