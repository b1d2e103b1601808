# Skip moves from the review app to the queues app (it is the queues' record of a
# clip given back). The table stays review_skip: only Django's state changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0004_task_done_idx"),
        ("review", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Skip",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "reason",
                            models.CharField(
                                choices=[
                                    ("audio", "audio does not play or is broken"),
                                    ("language", "a language I don't review"),
                                    ("unsure", "not sure, leave it to someone else"),
                                    ("other", "other"),
                                ],
                                max_length=12,
                            ),
                        ),
                        ("note", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "reviewer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="skips",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "task",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="skips", to="queues.task"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "review_skip",
                        "indexes": [models.Index(fields=["reviewer", "task"], name="review_skip_reviewe_e95f08_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
