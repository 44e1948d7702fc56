"""Seed the address-search checklist with the county procedure's sources (forms.md §2).
Administrators change the list afterwards in the administration site."""

from django.db import migrations

SOURCES = [
    ("SEN system", "Special educational needs records: EHC plans and SEN support."),
    ("Admissions system", "In-year and normal-round applications and offers of a school place."),
    ("Education management system", "The authority's pupil database and school census returns."),
    ("Free school meals", "Applications and eligibility checks for free school meals."),
    ("Youth services", "Youth service and youth justice contacts."),
    ("School census", "The termly school census, including other authorities' schools."),
    ("Electoral roll", "The register of electors at the last known and other addresses."),
    ("Careers/post-16 system", "Careers and post-16 participation tracking."),
    ("Health", "Health visitors, school nursing and the GP registration check."),
    (
        "Social media",
        "Open social media profiles of the family, searched by an authorised officer.",
    ),
]


def seed(apps, schema_editor):
    Source = apps.get_model("casework", "AddressSearchSource")
    for order, (name, description) in enumerate(SOURCES, start=1):
        Source.objects.get_or_create(
            name=name, defaults={"description": description, "order": order * 10}
        )


def unseed(apps, schema_editor):
    Source = apps.get_model("casework", "AddressSearchSource")
    Source.objects.filter(name__in=[n for n, _ in SOURCES], checks__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
