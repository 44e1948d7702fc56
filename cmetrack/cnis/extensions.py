"""What the children-not-in-school register adds to the registers below it (loaded by
``autodiscover_modules``): child protection enquiries it records count in the 2026 Act's
consent rule for withdrawing a child for home education (``registers.consent_answer``)."""

from __future__ import annotations

from cmetrack.people.models import Child
from cmetrack.registers.selectors import child_protection_enquiry_source_register

from .models import RegisterDetails, YesNoUnknown


def child_protection_enquiries_recorded(child: Child) -> bool:
    return RegisterDetails.objects.filter(
        child=child, child_protection_enquiries=YesNoUnknown.YES
    ).exists()


child_protection_enquiry_source_register(child_protection_enquiries_recorded)
