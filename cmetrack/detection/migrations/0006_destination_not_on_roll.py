from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0005_deletion_leave_ended"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="rule",
            field=models.CharField(
                choices=[
                    ("absence_20", "10 school days of continuous unexplained absence"),
                    ("absence_40", "20 school days of continuous unexplained absence"),
                    ("leaver_no_destination", "Left with no known destination"),
                    ("allocation_not_taken", "Allocated place not taken up"),
                    ("in_care_attendance", "Child in care: attendance 95% or below"),
                    ("illness_15", "15 school days of illness"),
                    ("y6_y7_transfer", "Year 6 pupil on no roll in Year 7"),
                    ("suggest_located", "Open case: child found on a roll"),
                    (
                        "destination_not_on_roll",
                        "Deleted to a named school whose next roll lacks the child",
                    ),
                ],
                db_index=True,
                max_length=25,
            ),
        ),
    ]
