"""The notifications settings, with their defaults (README, docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"


def get(name: str, default: Any = None) -> Any:
    return getattr(settings, f"CMETRACK_NOTIFY_{name}", default)


def backend() -> str:
    return str(get("BACKEND", "console"))


def templates() -> dict[str, str]:
    return dict(get("TEMPLATES", {}) or {})


def secure_domains() -> set[str]:
    return {d.strip().lower().lstrip("@") for d in get("SECURE_DOMAINS", []) or [] if d.strip()}


def per_minute() -> int:
    return int(get("PER_MINUTE", 3000))


def max_attempts() -> int:
    return int(get("MAX_ATTEMPTS", 8))


def site_url() -> str:
    return str(get("SITE_URL", "") or "").rstrip("/")


def is_secure(email: str) -> bool:
    """Is ``email`` on one of the authority's secure domains (or a subdomain of one)?"""
    domain = email.rpartition("@")[2].strip().lower()
    return any(domain == d or domain.endswith("." + d) for d in secure_domains())
