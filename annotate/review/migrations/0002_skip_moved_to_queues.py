# Skip now lives in the queues app (queues 0005), on the same table.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0001_initial"),
        ("queues", "0005_skip_moved_from_review"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Skip")], database_operations=[]),
    ]
