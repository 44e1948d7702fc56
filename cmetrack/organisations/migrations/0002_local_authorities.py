"""Load the English and Welsh local authorities shipped in data/local_authorities.csv."""

import csv
from importlib import resources

from django.db import migrations


def load(apps, schema_editor):
    LocalAuthority = apps.get_model("organisations", "LocalAuthority")
    text = (
        resources.files("cmetrack.organisations")
        .joinpath("data", "local_authorities.csv")
        .read_text(encoding="utf-8")
    )
    for row in csv.DictReader(text.splitlines()):
        LocalAuthority.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"], "country": row["country"], "region": row["region"]},
        )


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
