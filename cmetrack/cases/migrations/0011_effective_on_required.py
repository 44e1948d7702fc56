# The effective date of every state change is filled (0010); from now on it is required.
# A migration of its own: PostgreSQL refuses to alter a table with the data migration's
# updates still pending in the same transaction.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_effective_dates_and_episodes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="casestatechange",
            name="effective_on",
            field=models.DateField(verbose_name="took effect on"),
        ),
    ]
