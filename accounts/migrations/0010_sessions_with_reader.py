"""Sessions move to accounts' table, which keeps the logged-in reader's id beside the data.

Every live session is copied, so nobody is logged out: the reader's id is filled in where the
data can be read with the site's keys (else left empty, filled in on the session's next save,
and the reader loaded by a second query until then). Django's table is emptied afterwards, so
sessions live in one place; going back copies them the other way.
"""

import django.db.models.deletion
from django.contrib.sessions.backends.db import SessionStore
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

BATCH = 2000


def reader_id(data):
    value = data.get("_auth_user_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def copy_sessions(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("accounts", "Session")
    # Django's store decodes what Django's store wrote (the same keys and salt as ours); data it
    # cannot read (a retired secret key) decodes as empty and is copied without a reader.
    store = SessionStore()
    batch = []
    live = Old.objects.filter(expire_date__gt=timezone.now()).order_by("session_key")
    for old in live.iterator(chunk_size=BATCH):
        batch.append(
            New(
                session_key=old.session_key,
                session_data=old.session_data,
                expire_date=old.expire_date,
                user_id=reader_id(store.decode(old.session_data)),
            )
        )
        if len(batch) == BATCH:
            New.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    New.objects.bulk_create(batch, ignore_conflicts=True)
    Old.objects.all().delete()


def copy_sessions_back(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("accounts", "Session")
    batch = []
    for new in New.objects.order_by("session_key").iterator(chunk_size=BATCH):
        batch.append(Old(new.session_key, new.session_data, new.expire_date))
        if len(batch) == BATCH:
            Old.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Old.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_subscription_export_permission'),
        ('sessions', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Session',
            fields=[
                ('session_key', models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name='session key')),
                ('session_data', models.TextField(verbose_name='session data')),
                ('expire_date', models.DateTimeField(db_index=True, verbose_name='expire date')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, help_text='The reader logged in through this session, if any.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='reader')),
            ],
            options={
                'verbose_name': 'session',
                'verbose_name_plural': 'sessions',
                'abstract': False,
            },
        ),
        migrations.RunPython(copy_sessions, copy_sessions_back, elidable=False),
    ]
