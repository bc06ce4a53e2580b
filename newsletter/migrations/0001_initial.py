# The models moved from accounts (accounts/0005_newsletter_models_move_out.py). Their tables
# exist already, made by accounts/0002_newsletter_sending.py: this only tells Django's picture
# of the models where they live now. db_table keeps the old table names, so no row moves.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0005_newsletter_models_move_out'),
        ('posts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='NewsletterSend',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('mode', models.CharField(choices=[('full', 'The full post'), ('teaser', 'A teaser with a “Continue reading” button')], default='full', max_length=10, verbose_name='content')),
                        ('teaser_words', models.PositiveIntegerField(default=150, help_text='Used for a teaser when the post has no “more” marker.', verbose_name='teaser length in words')),
                        ('status', models.CharField(choices=[('scheduled', 'Scheduled'), ('sending', 'Sending'), ('paused', 'Paused'), ('finished', 'Finished')], db_index=True, default='sending', max_length=10, verbose_name='status')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                        ('scheduled_for', models.DateTimeField(blank=True, null=True, verbose_name='scheduled for')),
                        ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                        ('subject', models.CharField(blank=True, max_length=300, verbose_name='subject')),
                        ('html_body', models.TextField(blank=True, editable=False, verbose_name='HTML body')),
                        ('text_body', models.TextField(blank=True, editable=False, verbose_name='text body')),
                        ('recipients_count', models.PositiveIntegerField(default=0, verbose_name='recipients')),
                        ('sent_count', models.PositiveIntegerField(default=0, verbose_name='sent')),
                        ('failed_count', models.PositiveIntegerField(default=0, verbose_name='failed')),
                        ('bounced_count', models.PositiveIntegerField(default=0, verbose_name='bounced')),
                        ('skipped_count', models.PositiveIntegerField(default=0, verbose_name='skipped')),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text='When a worker last took a batch.', null=True, verbose_name='last activity')),
                        ('retry_at', models.DateTimeField(blank=True, help_text='Set while the mail server is unreachable: sending resumes at this time.', null=True, verbose_name='next try')),
                        ('transport_failures', models.PositiveIntegerField(default=0, verbose_name='mail server failures in a row')),
                        ('last_error', models.CharField(blank=True, max_length=500, verbose_name='last mail server error')),
                        ('watchdog_token', models.CharField(blank=True, editable=False, max_length=32)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='started by')),
                        ('post', models.OneToOneField(help_text='A post goes out by email once; the database refuses a second send.', on_delete=django.db.models.deletion.CASCADE, related_name='newsletter_send', to='posts.post', verbose_name='post')),
                    ],
                    options={
                        'db_table': 'accounts_newslettersend',
                        'verbose_name': 'newsletter send',
                        'verbose_name_plural': 'newsletter sends',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed'), ('bounced', 'Bounced'), ('skipped', 'Skipped (no longer subscribed)')], default='pending', max_length=10, verbose_name='status')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                        ('last_error', models.CharField(blank=True, max_length=500, verbose_name='last error')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent')),
                        ('available_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='available from')),
                        ('claimed_by', models.CharField(blank=True, max_length=64, verbose_name='worker')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to=settings.AUTH_USER_MODEL, verbose_name='reader')),
                        ('send', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='newsletter.newslettersend', verbose_name='send')),
                    ],
                    options={
                        'db_table': 'accounts_delivery',
                        'verbose_name': 'delivery',
                        'verbose_name_plural': 'deliveries',
                        'indexes': [models.Index(fields=['send', 'status'], name='accounts_delivery_progress'), models.Index(condition=models.Q(('status', 'pending')), fields=['send', 'id'], name='accounts_delivery_claim')],
                        'constraints': [models.UniqueConstraint(fields=('send', 'user'), name='accounts_delivery_once_per_send')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
