"""The entity kinds the product starts with (seeded by migration 0002). Kinds are data:
add or rename them in the admin; these are only the first ones."""

from __future__ import annotations

DEFAULT_KINDS = [
    # slug, name, linkable
    ("artist", "artist", True),
    ("song", "song", True),
    ("album", "album", True),
    ("podcast", "podcast / audiobook", True),
    ("app", "app / skill", True),
    ("place", "place", True),
    ("other", "other", False),
]


def seed_kinds(entity_kind_model) -> None:
    """Create the default kinds that are missing (the model may be a migration's historical one)."""
    for position, (slug, name, linkable) in enumerate(DEFAULT_KINDS, start=1):
        entity_kind_model.objects.get_or_create(
            slug=slug, defaults={"name": name, "linkable": linkable, "position": position}
        )
