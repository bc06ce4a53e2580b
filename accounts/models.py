from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


def normalize_email(email: str) -> str:
    """Return the canonical form we store: trimmed and lower-cased, so lookups never miss."""
    return (email or "").strip().lower()


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

    def by_email(self, email: str):
        return self.filter(email=normalize_email(email))


class User(AbstractUser):
    """A reader, subscriber or editor. Email is the identifier; there is no username."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(
        _("display name"),
        max_length=60,
        blank=True,
        help_text=_("Shown beside your comments. Leave empty to use the start of your email."),
    )
    bio = models.CharField(
        _("short bio"), max_length=280, blank=True, help_text=_("Shown on author pages.")
    )
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)

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
        cached on the instance, so templates may ask as often as they like."""
        return self.emailaddress_set.filter(verified=True).exists()

    @property
    def can_participate(self) -> bool:
        """True if this reader may vote and comment: logged in with a verified email.

        Per-feature rules (a comment ban, a closed poll) are checked by their own apps."""
        return self.is_authenticated and self.is_active and self.has_verified_email


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

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self):
        return f"{self.user.email} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        """Return True if this reader receives the newsletter."""
        return self.status == self.Status.ACTIVE
