from datetime import timedelta

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.functions import Lower, Now
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from accounts import addresses, names
from accounts.images import validate_image_upload


def normalize_email(email: str) -> str:
    """Return the canonical form we store: trimmed, composed (NFC) and lower-cased, so lookups
    never miss. Which addresses are accepted at all is accounts.addresses' rule."""
    return addresses.normalize(email)


def validate_new_avatar(value) -> None:
    """Apply the cover checks (a JPEG, PNG or WebP within the size and pixel caps) to a newly
    uploaded avatar; one already stored was checked when it arrived."""
    if value and not getattr(value, "_committed", True):
        validate_image_upload(value)


class ReaderManager(UserManager):
    """A user manager keyed on email instead of username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email(email))

    def with_verified_flag(self):
        """Readers with has_verified_email read in the same query (see accounts.backends)."""
        from allauth.account.models import EmailAddress

        verified = EmailAddress.objects.filter(user=models.OuterRef("pk"), verified=True)
        return self.annotate(has_verified_email=models.Exists(verified))


class User(AbstractUser):
    """A reader, subscriber or editor. Email is the identifier; there is no username."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(
        _("email address"), unique=True, validators=[addresses.validate_address]
    )
    display_name = models.CharField(
        _("display name"),
        max_length=60,
        blank=True,
        validators=[names.validate_display_name],
        help_text=_("Shown beside your comments. Leave empty to use the start of your email."),
    )
    bio = models.CharField(
        _("short bio"), max_length=280, blank=True, help_text=_("Shown on author pages.")
    )
    avatar = models.ImageField(
        _("avatar"),
        upload_to="avatars/",
        blank=True,
        validators=[validate_new_avatar],
        help_text=_("A JPEG, PNG or WebP picture; stored upright, without its metadata."),
    )
    # Editors' own choices of what the publication emails them about (staff only). The database
    # default keeps raw bulk inserts of readers (seed_bench) working without naming them.
    notify_review_queue = models.BooleanField(
        _("email me when comments wait for review"),
        default=False,
        db_default=False,
        help_text=_(
            "A comment held for review or reported by a reader: one email an hour at most, "
            "listing everything that waits."
        ),
    )
    notify_sends = models.BooleanField(
        _("email me when a newsletter send finishes or fails"),
        default=False,
        db_default=False,
        help_text=_("Sent when a send has reached everyone, or when it stops and needs you."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = ReaderManager()

    class Meta:
        verbose_name = _("reader")
        verbose_name_plural = _("readers")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        """Every form that edits a reader (the account page, the admin) passes here: the name is
        stored trimmed, and a reader may not take a name too close to a staff member's."""
        super().clean()
        # Stored lower-cased (save() does it too); here as well so the form's uniqueness check
        # sees the form that will be stored.
        self.email = normalize_email(self.email)
        self.display_name = names.normalize(self.display_name)
        if (
            self.display_name
            and not self.is_staff
            and names.problem(self.display_name) is None
            and names.too_close_to_staff(self.display_name, exclude_pk=self.pk)
        ):
            message = _("This name is too close to an editor's name.")
            raise ValidationError(
                {"display_name": ValidationError(message, code="editor_lookalike")}
            )

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def public_name(self) -> str:
        """Return the name shown publicly: the display name, or the email's local part."""
        return self.display_name or self.email.split("@", 1)[0]

    @cached_property
    def has_verified_email(self) -> bool:
        """True if the reader proved they own their email (allauth records it). One query,
        cached on the instance, so templates may ask as often as they like; none for the
        logged-in reader, whose login loads it (ReaderManager.with_verified_flag)."""
        return self.emailaddress_set.filter(verified=True).exists()

    @property
    def can_participate(self) -> bool:
        """True if this reader may vote and comment: logged in with a verified email.

        Per-feature rules (a comment ban, a closed poll) are checked by their own apps."""
        return self.is_authenticated and self.is_active and self.has_verified_email


class SubscriptionQuerySet(models.QuerySet):
    def active(self):
        """Subscriptions that receive the newsletter: active, on an account that is not disabled."""
        return self.filter(status=Subscription.Status.ACTIVE, user__is_active=True)

    def counts_by_status(self) -> dict[str, int]:
        """Return {status: count} for every status, zeros included, in one query."""
        counts = dict.fromkeys(Subscription.Status.values, 0)
        for row in self.order_by().values("status").annotate(n=models.Count("pk")):
            counts[row["status"]] = row["n"]
        return counts


class Subscription(models.Model):
    """A reader's newsletter subscription: one per reader, kept when they unsubscribe."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending confirmation")
        ACTIVE = "active", _("Active")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="subscription")
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.PENDING, db_index=True
    )
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_("The page or form it came from.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    status_reason = models.CharField(
        _("reason"),
        max_length=300,
        blank=True,
        help_text=_("Why the status last changed, e.g. the mail server's answer to a bounce."),
    )

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        permissions = [
            (
                "export_subscribers",
                _("Can export every subscriber's address (CSV, whole-publication export)"),
            ),
        ]

    def __str__(self):
        return f"{self.user.email} ({self.get_status_display()})"

    # How long the "Unsubscribed by mistake?" button on the unsubscribe page works. The link in
    # an email never expires and may have been forwarded, so it may stop mail at any time but
    # start it again only right after it stopped it; later, subscribing again takes a code.
    RESUBSCRIBE_WINDOW = timedelta(days=7)

    @property
    def is_active(self) -> bool:
        """Return True if this reader receives the newsletter."""
        return self.status == self.Status.ACTIVE

    def can_resubscribe_by_link(self) -> bool:
        """Return True if the unsubscribe link may still undo this unsubscribe."""
        return (
            self.status == self.Status.UNSUBSCRIBED
            and self.unsubscribed_at is not None
            and timezone.now() - self.unsubscribed_at <= self.RESUBSCRIBE_WINDOW
        )


class RateLimitQuerySet(models.QuerySet):
    def hit(self, key: str, *, limit: int, seconds: float) -> bool:
        """Count one hit on key if it is under limit in its current window of seconds; return
        whether it was counted (False: over the limit, nothing counted).

        One statement, atomic per key, so concurrent requests through any number of
        processes never both take the last place.
        """
        table = connection.ops.quote_name(self.model._meta.db_table)
        expired = f"{table}.window_ends <= statement_timestamp()"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (key, hits, window_ends) "  # noqa: S608 (names from _meta)  # nosec
                "VALUES (%s, 1, statement_timestamp() + make_interval(secs => %s)) "
                "ON CONFLICT (key) DO UPDATE SET "
                f"hits = CASE WHEN {expired} THEN 1 ELSE {table}.hits + 1 END, "
                f"window_ends = CASE WHEN {expired} THEN EXCLUDED.window_ends "
                f"ELSE {table}.window_ends END "
                f"WHERE {expired} OR {table}.hits < %s "
                "RETURNING hits",
                [key, seconds, limit],
            )
            return cursor.fetchone() is not None

    def give_back(self, key: str) -> None:
        """Undo one counted hit on key (another limit refused the same request)."""
        self.filter(key=key, hits__gt=0).update(hits=models.F("hits") - 1)

    def purge_expired(self) -> int:
        return self.filter(window_ends__lt=Now()).delete()[0]


class RateLimit(models.Model):
    """Hits on one limit (an action by one reader, address or email) in its current window.

    Written only through accounts.ratelimits. The table is unlogged: a crash may forget the
    counts, which forgives a few requests, and in exchange a check costs no disk flush.
    """

    key = models.CharField(_("key"), max_length=255, primary_key=True)
    hits = models.PositiveIntegerField(_("hits"), default=0)
    window_ends = models.DateTimeField(_("window ends"))

    objects = RateLimitQuerySet.as_manager()

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")

    def __str__(self):
        return f"{self.key}: {self.hits}"


class EditorNotice(models.Model):
    """An email the publication sent an editor about something that needs them. Its key names
    the occasion ("review-digest:2026-03-01T09", "send-finished:42"); the unique pair of editor
    and key is what keeps two task workers from sending the same email twice."""

    editor = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="editor_notices", verbose_name=_("editor")
    )
    key = models.CharField(_("occasion"), max_length=100)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("editor notice")
        verbose_name_plural = _("editor notices")
        constraints = [
            models.UniqueConstraint(fields=["editor", "key"], name="accounts_editornotice_once"),
        ]

    def __str__(self):
        return f"{self.key} to {self.editor_id}"


class ReferralQuerySet(models.QuerySet):
    def counted(self):
        """Referrals that count towards their referrer's total: confirmed, not revoked."""
        return self.filter(counted_at__isnull=False, revoked_at__isnull=True)

    def held(self):
        """Referrals kept aside as part of a burst, waiting for an editor."""
        return self.filter(held=True, counted_at__isnull=True, revoked_at__isnull=True)


class Referral(models.Model):
    """A new reader who subscribed through another reader's referral link.

    One per referred reader (the first link wins). It counts once the referred reader confirms
    their address (counted_at), unless it is held as part of a burst from one network or an
    editor revoked it.
    """

    referrer = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="referrals_made", verbose_name=_("referrer")
    )
    referred = models.OneToOneField(
        User,
        on_delete=models.CASCADE,
        related_name="referred_by",
        verbose_name=_("referred reader"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    counted_at = models.DateTimeField(
        _("counted"),
        null=True,
        blank=True,
        help_text=_("When the referred reader confirmed their address and the referral counted."),
    )
    held = models.BooleanField(
        _("held"),
        default=False,
        help_text=_(
            "One of a burst of signups from one network: not counted until an editor approves it."
        ),
    )
    revoked_at = models.DateTimeField(
        _("revoked"),
        null=True,
        blank=True,
        help_text=_("Revoked by an editor: no longer counts. Rewards already sent stay sent."),
    )
    network = models.CharField(
        _("network"),
        max_length=32,
        blank=True,
        help_text=_(
            "A keyed hash of the signup's network (IPv4 /24, IPv6 /64), to spot bursts. "
            "The address itself is not stored."
        ),
    )

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [models.Index(fields=["referrer", "network", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(referrer=models.F("referred")),
                name="accounts_referral_not_self",
            ),
        ]

    def __str__(self):
        return f"{self.referrer} → {self.referred}"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return _("revoked")
        if self.counted_at:
            return _("counted")
        if self.held:
            return _("held")
        return _("waiting for confirmation")


class Referrer(User):
    """Readers seen as referrers, for the editors' leaderboard."""

    class Meta:
        proxy = True
        verbose_name = _("referrer")
        verbose_name_plural = _("referral leaderboard")


class SessionQuerySet(models.QuerySet):
    def live(self):
        """Sessions that have not expired yet."""
        return self.filter(expire_date__gt=timezone.now())


class Session(AbstractBaseSession):
    """A browser's session, with the id of the reader logged in through it kept beside the data,
    so loading the session loads the reader too (accounts.sessions.SessionStore).

    The id is written whenever the session is saved, from the login recorded in its data; empty
    when nobody is logged in, or for a session carried over from before this table that has not
    been saved since (its reader is then loaded by a second query, as Django does).
    """

    # No foreign-key constraint: a session saved while its reader is being deleted must not fail
    # (the save would retry forever), and a session pointing at a deleted reader finds nobody
    # and is anonymous. delete_account removes the reader's sessions through this index.
    user = models.ForeignKey(
        User,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reader"),
        help_text=_("The reader logged in through this session, if any."),
    )

    objects = BaseSessionManager.from_queryset(SessionQuerySet)()

    class Meta(AbstractBaseSession.Meta):
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore
