# Invitations keep only "answered" (no time); answers are held apart until the round is
# sealed into the results in random order; responses keep no date.

import uuid

import django.db.models.deletion
from django.db import migrations, models


def answered_from_used_at(apps, schema_editor):  # type: ignore[no-untyped-def]
    Invitation = apps.get_model("healthcheck", "Invitation")
    Invitation.objects.filter(used_at__isnull=False).update(answered=True)


def used_at_from_answered(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The time is gone for good; going back, answered links get the round's closing time.
    Invitation = apps.get_model("healthcheck", "Invitation")
    for invitation in Invitation.objects.filter(answered=True).select_related("round"):
        invitation.used_at = invitation.round.closed_early_at or invitation.round.closes_at
        invitation.save(update_fields=["used_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("healthcheck", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="answered",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(answered_from_used_at, used_at_from_answered),
        migrations.RemoveField(
            model_name="invitation",
            name="used_at",
        ),
        migrations.RemoveField(
            model_name="response",
            name="submitted_on",
        ),
        # Existing rounds stay unsealed: sealing a closed one rewrites its responses in
        # random order, which removes the submission order they were stored in.
        migrations.AddField(
            model_name="round",
            name="sealed",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="HeldResponse",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("side", models.CharField(blank=True, max_length=100)),
                ("sector", models.CharField(blank=True, max_length=32)),
                ("organisation", models.CharField(blank=True, max_length=200)),
                ("answers", models.JSONField(default=dict)),
                ("comments", models.JSONField(blank=True, default=dict)),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="held_responses",
                        to="healthcheck.round",
                    ),
                ),
            ],
        ),
    ]
