"""Analysis settings per experiment (alpha moves into them) and guardrail margins."""

from django.db import migrations, models


def alpha_into_settings(apps, schema_editor):
    """An experiment's alpha becomes its settings' alpha; every other setting is a default."""
    Experiment = apps.get_model("experiments", "Experiment")
    for experiment in Experiment.objects.exclude(alpha=0.05):
        experiment.analysis = {"alpha": experiment.alpha}
        experiment.save(update_fields=["analysis"])


def settings_into_alpha(apps, schema_editor):
    Experiment = apps.get_model("experiments", "Experiment")
    for experiment in Experiment.objects.all():
        experiment.alpha = (experiment.analysis or {}).get("alpha", 0.05)
        experiment.save(update_fields=["alpha"])


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0002_results"),
    ]

    operations = [
        migrations.AddField(
            model_name="experiment",
            name="analysis",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(alpha_into_settings, settings_into_alpha),
        migrations.RemoveField(
            model_name="experiment",
            name="alpha",
        ),
        migrations.AddField(
            model_name="experiment",
            name="analysis_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="experimentmetric",
            name="non_inferiority_margin",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="experimentmetric",
            name="expected_direction",
            field=models.CharField(
                choices=[
                    ("increase", "Increase"),
                    ("decrease", "Decrease"),
                    ("no_change", "No change"),
                ],
                max_length=20,
            ),
        ),
    ]
