"""Clips purged before retention reached what others derived from them (issue 12):
reviewers' texts, spans, final texts, gold uses and second opinions of purged
clips go now, as purge_clip does from here on."""

from django.db import migrations


def purge_derived_of_purged_clips(apps, schema_editor):
    purged = apps.get_model("clips", "Clip").objects.filter(state="purged").values("pk")
    apps.get_model("catalog", "EntitySpan").objects.filter(annotation__clip__in=purged).delete()
    apps.get_model("review", "Annotation").objects.filter(clip__in=purged).update(corrected_text="", whisper_text="")
    apps.get_model("quality", "FinalTranscript").objects.filter(clip__in=purged).delete()
    apps.get_model("queues", "GoldClip").objects.filter(clip__in=purged).delete()
    apps.get_model("leads", "SecondOpinion").objects.filter(clip__in=purged).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_requests"),
        ("catalog", "0003_postgres_search"),
        ("review", "0002_skip_moved_to_queues"),
        ("quality", "0001_initial"),
        ("queues", "0005_skip_moved_from_review"),
        ("leads", "0002_quality_models_moved"),
    ]

    operations = [migrations.RunPython(purge_derived_of_purged_clips, migrations.RunPython.noop)]
