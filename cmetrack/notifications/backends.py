"""Where a message goes: GOV.UK Notify, the log, or a file per message (development).

A backend's ``send`` returns the provider's id, or raises :class:`RetryLater` (Notify's
429 and 5xx, or no answer) or :class:`Refused` (any other 4xx: the message cannot be sent
as it is).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from . import conf

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    def __init__(self, message: str, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited


class Refused(Exception):
    pass


@dataclass(frozen=True)
class Outgoing:
    email_address: str
    template_id: str
    personalisation: dict[str, str]
    reference: str  # Notify's reference: the row's, ``cmetrack-<id>``
    kind: str
    subject: str
    body: str
    document: tuple[str, bytes] | None = None  # (filename, content)


class Backend(Protocol):
    def send(self, message: Outgoing) -> str: ...

    def already_sent(self, reference: str) -> str | None: ...


class ConsoleBackend:
    """Logs each message (development; production only when chosen explicitly)."""

    def send(self, message: Outgoing) -> str:
        logger.info(
            "notification %s to %s: %s",
            message.kind,
            message.email_address,
            message.subject,
            extra={"notify_reference": message.reference},
        )
        return f"console-{message.reference}"

    def already_sent(self, reference: str) -> str | None:
        return None


class FileBackend:
    """Writes each message as JSON to ``$CMETRACK_VAR_DIR/outbox`` (or
    ``CMETRACK_NOTIFY_OUTBOX``), one file per message, named by its reference."""

    def outbox(self) -> Path:
        folder = Path(conf.get("OUTBOX", "") or Path(settings.VAR_DIR) / "outbox")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def send(self, message: Outgoing) -> str:
        path = self.outbox() / f"{message.reference}.json"
        payload = {
            "email_address": message.email_address,
            "template_id": message.template_id,
            "personalisation": message.personalisation,
            "reference": message.reference,
            "kind": message.kind,
            "subject": message.subject,
            "body": message.body,
            "document": message.document[0] if message.document else None,
            "written_at": timezone.now().isoformat(),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        return f"file-{message.reference}"

    def already_sent(self, reference: str) -> str | None:
        return f"file-{reference}" if (self.outbox() / f"{reference}.json").exists() else None


class NotifyBackend:
    """GOV.UK Notify through ``notifications_python_client`` (ADR 0014)."""

    def __init__(self) -> None:
        from notifications_python_client.notifications import (
            NotificationsAPIClient,
        )

        api_key = conf.get("API_KEY", "")
        if not api_key:
            raise Refused("CMETRACK_NOTIFY_API_KEY is not set")
        self.client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
            api_key, base_url=conf.get("BASE_URL", "") or conf.NOTIFY_BASE_URL, timeout=20
        )

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from notifications_python_client.errors import HTTPError

        try:
            return getattr(self.client, method)(*args, **kwargs)
        except HTTPError as exc:
            status = exc.status_code
            text = f"Notify answered {status}: {exc.message}"[:300]
            if status == 429:
                raise RetryLater(text, rate_limited=True) from exc
            if status >= 500:
                raise RetryLater(text) from exc
            raise Refused(text) from exc
        except OSError as exc:  # no answer at all (requests' errors are OSErrors)
            raise RetryLater(f"Notify could not be reached: {exc}"[:300]) from exc

    def send(self, message: Outgoing) -> str:
        personalisation: dict[str, Any] = dict(message.personalisation)
        if message.document is not None:
            from notifications_python_client.utils import (
                prepare_upload,
            )

            name, content = message.document
            personalisation["document"] = prepare_upload(  # type: ignore[no-untyped-call]
                io.BytesIO(content),
                filename=name,
                confirm_email_before_download=True,
                retention_period="4 weeks",
            )
        answer = self._call(
            "send_email_notification",
            email_address=message.email_address,
            template_id=message.template_id,
            personalisation=personalisation,
            reference=message.reference,
        )
        return str(answer["id"])

    def already_sent(self, reference: str) -> str | None:
        """Notify's id for a message sent before with this reference (a retried job whose
        first try may have reached Notify), or None."""
        answer = self._call("get_all_notifications", reference=reference)
        for found in answer.get("notifications") or []:
            if found.get("reference") == reference:
                return str(found["id"])
        return None


def get_backend() -> Backend:
    name = conf.backend()
    if name == "notify":
        return NotifyBackend()
    if name == "file":
        return FileBackend()
    if name == "console":
        return ConsoleBackend()
    raise Refused(f"unknown CMETRACK_NOTIFY_BACKEND {name!r}: use notify, console or file")
