from http import HTTPStatus

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import models
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.images import max_upload_bytes
from posts.forms import BodyImageUploadForm, PostAdminForm
from posts.models import Page, Post, Tag
from posts.revisions.admin import PostEditingAdminMixin
from posts.richtext import BODY_IMAGE_FALLBACK_WIDTH
from posts.services import publish_post, store_body_image, unpublish_post
from posts.widgets import LabelledSplitDateTime

# Room for the multipart envelope around one image at the size limit.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "description"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "updated_at"]
    prepopulated_fields = {"slug": ["title"]}


class StateFilter(admin.SimpleListFilter):
    """What readers see now, which the stored status alone does not say once time passes."""

    title = _("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        # The values stay "live", "scheduled", "draft": bookmarked lists keep working.
        return [
            ("live", Post.Status.PUBLISHED.label),
            ("scheduled", Post.Status.SCHEDULED.label),
            ("draft", Post.Status.DRAFT.label),
        ]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.published()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "draft":
            return queryset.drafts()
        return queryset


@admin.register(Post)
class PostAdmin(PostEditingAdminMixin, admin.ModelAdmin):
    """The post admin of posts alone; futureforward/admin.py adds the other apps' parts."""

    form = PostAdminForm
    list_display = [
        "title",
        "state",
        "published_at",
        "audience",
        "is_featured",
        "author_names",
        "thumbs_up_count",
    ]
    list_filter = [
        StateFilter,
        "audience",
        "is_featured",
        "tags",
        ("authors", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "subtitle", "slug", "body_text"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["authors", "tags"]
    formfield_overrides = {models.DateTimeField: {"widget": LabelledSplitDateTime}}
    readonly_fields = [
        "state",
        "preview_link",
        "cover_preview",
        "reading_minutes",
        "created_at",
        "updated_at",
    ]
    save_on_top = True
    actions = ["publish_now", "back_to_draft"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "subtitle", "preview_link", "base_version"]}),
        (_("Cover"), {"fields": ["cover", "cover_preview", "cover_alt"]}),
        (_("Article"), {"fields": ["body", "reading_minutes", "daily_takeaway"]}),
        (_("Authors and tags"), {"fields": ["authors", "tags"]}),
        (
            _("Readers"),
            {"fields": ["audience", "is_featured", "comments_mode", "created_at", "updated_at"]},
        ),
        (
            _("Publish on the site"),
            {
                "fields": ["state", "status", "published_at"],
                "classes": ["ff-publish-panel"],
                "description": _(
                    "What readers of the site will see after you save. Sending the post by "
                    "email is a separate choice. Drafts and scheduled posts can be previewed "
                    "by staff."
                ),
            },
        ),
    ]

    class Media:
        css = {"all": ["css/posts-admin.css"]}
        js = ["js/post-autosave.js", "js/admin-filters.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_cards().with_thumbs_up()

    def get_urls(self):
        # admin_view: staff only, CSRF-checked, never cached.
        upload = self.admin_site.admin_view(require_POST(self.upload_body_image))
        return [
            path("body-image/", upload, name="posts_post_body_image"),
            *super().get_urls(),
        ]

    def upload_body_image(self, request):
        """The editor's image upload: the image's renditions, or a message the editor shows.

        Answers JSON either way. Nothing is stored unless every check passes.
        """
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_upload_bytes() + UPLOAD_ENVELOPE_BYTES:
            # Refused before the body is read, so a huge upload costs neither memory nor disk.
            return JsonResponse(
                {
                    "error": gettext(
                        "This image is too large; the limit is %(limit)s. "
                        "Please upload a smaller file."
                    )
                    % {"limit": filesizeformat(max_upload_bytes())}
                },
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        form = BodyImageUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return JsonResponse(
                {"error": " ".join(form.errors["image"])}, status=HTTPStatus.BAD_REQUEST
            )
        try:
            image = store_body_image(upload=form.cleaned_data["image"], uploaded_by=request.user)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=HTTPStatus.BAD_REQUEST)
        rendition = image.rendition_for(BODY_IMAGE_FALLBACK_WIDTH)
        return JsonResponse(
            {
                "src": default_storage.url(rendition["name"]),
                "width": image.width,
                "height": image.height,
            },
            status=HTTPStatus.CREATED,
        )

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.user.is_staff:
            initial.setdefault("authors", [request.user.pk])
        return initial

    @admin.display(description=_("status now"), ordering="published_at")
    def state(self, post):
        """What readers see now: the list's column and, on the edit form, the line above the
        status the editor chooses."""
        when = (
            date_format(timezone.localtime(post.published_at), "DATETIME_FORMAT")
            if post.published_at
            else ""
        )
        if post.state == Post.Status.SCHEDULED:
            return _("Scheduled for %(when)s") % {"when": when}
        if post.state == Post.Status.PUBLISHED:
            return _("Live since %(when)s") % {"when": when}
        return post.state.label

    @admin.display(description=_("authors"))
    def author_names(self, post):
        return ", ".join(author.public_name for author in post.author_list)

    @admin.display(description=_("thumbs up"), ordering="thumbs_up_count")
    def thumbs_up_count(self, post):
        return post.thumbs_up_count

    @admin.display(description=_("address"))
    def preview_link(self, post):
        if not post.pk:
            return _("Save the post to get its address.")
        label = _("View on site") if post.is_published() else _("Preview (staff only)")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> <code>{}</code>',
            post.get_absolute_url(),
            label,
            post.get_absolute_url(),
        )

    @admin.display(description=_("current cover"))
    def cover_preview(self, post):
        if not post.cover:
            return _("No cover yet.")
        return format_html(
            '<img src="{}" alt="" width="240" height="{}" class="ff-cover-preview"> '
            "<br>{} × {} px, {} responsive copies",
            post.cover_rendition_url(480),
            round(240 * (post.cover_height or 1) / (post.cover_width or 1)),
            post.cover_width or "?",
            post.cover_height or "?",
            len(post.cover_renditions or []),
        )

    @admin.action(description=_("Publish now"))
    def publish_now(self, request, queryset):
        count = 0
        for post in queryset:
            publish_post(post=post, by=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d post published.", "%(count)d posts published.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Move back to draft"))
    def back_to_draft(self, request, queryset):
        count = 0
        for post in queryset:
            unpublish_post(post=post, by=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d post moved to draft.", "%(count)d posts moved to draft.", count)
            % {"count": count},
            messages.SUCCESS,
        )
