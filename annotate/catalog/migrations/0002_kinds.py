"""The entity kinds the product starts with. Kinds are data: add more in the admin."""

from django.db import migrations

from annotate.catalog.kinds import DEFAULT_KINDS, seed_kinds


def seed(apps, schema_editor):
    seed_kinds(apps.get_model("catalog", "EntityKind"))


def unseed(apps, schema_editor):
    EntityKind = apps.get_model("catalog", "EntityKind")
    EntityKind.objects.filter(slug__in=[slug for slug, _, _ in DEFAULT_KINDS], entities__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
