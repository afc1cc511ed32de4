"""Ingestion keys arrive: environments that exist now keep taking their environment key for
ingestion (``legacy_environment_key_ingestion`` on) until an admin turns it off; environments
made from now on start with it off."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        # The column arrives on for every row already there...
        migrations.AddField(
            model_name="environment",
            name="legacy_environment_key_ingestion",
            field=models.BooleanField(default=True),
        ),
        # ...and new rows get it off.
        migrations.AlterField(
            model_name="environment",
            name="legacy_environment_key_ingestion",
            field=models.BooleanField(default=False),
        ),
    ]
