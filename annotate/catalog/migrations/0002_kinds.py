"""The entity kinds the product starts with. Kinds are data: add more in the admin."""

from django.db import migrations

KINDS = [
    # slug, name, linkable
    ("artist", "artist", True),
    ("song", "song", True),
    ("album", "album", True),
    ("podcast", "podcast / audiobook", True),
    ("app", "app / skill", True),
    ("place", "place", True),
    ("other", "other", False),
]


def seed(apps, schema_editor):
    EntityKind = apps.get_model("catalog", "EntityKind")
    for position, (slug, name, linkable) in enumerate(KINDS, start=1):
        EntityKind.objects.get_or_create(slug=slug, defaults={"name": name, "linkable": linkable, "position": position})


def unseed(apps, schema_editor):
    EntityKind = apps.get_model("catalog", "EntityKind")
    EntityKind.objects.filter(slug__in=[slug for slug, _, _ in KINDS], entities__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
