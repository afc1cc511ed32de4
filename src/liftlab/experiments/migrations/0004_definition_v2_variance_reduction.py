"""Ratio and quantile metrics (definition version 2), and CUPED's lookback on attachments.

Existing attachments get no lookback (null): their results stay as they were computed.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0003_analysis_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="experimentmetric",
            name="lookback_days",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="metric",
            name="aggregation",
            field=models.CharField(
                choices=[
                    ("count", "Count"),
                    ("sum", "Sum"),
                    ("mean", "Mean"),
                    ("occurrence", "Occurrence"),
                    ("ratio", "Ratio"),
                    ("quantile", "Quantile"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="metric",
            name="metric_type",
            field=models.CharField(
                choices=[
                    ("numeric", "Numeric"),
                    ("conversion", "Conversion"),
                    ("ratio", "Ratio"),
                    ("quantile", "Quantile"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="experimentmetric",
            constraint=models.CheckConstraint(
                condition=models.Q(lookback_days__isnull=True)
                | models.Q(lookback_days__gte=1, lookback_days__lte=365),
                name="lookback_days_in_range",
            ),
        ),
    ]
