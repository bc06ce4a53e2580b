"""The post admin's editing tools: autosave, revisions (compare, restore) and the web preview.

A mixin of PostAdmin; every view goes through admin_view (staff only, CSRF-checked) and the
post admin's change permission.
"""

from datetime import UTC
from http import HTTPStatus

from csp.constants import SELF
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext

from posts.forms import PostAutosaveForm
from posts.models import Post, PostDraft, PostRevision
from posts.revisions.diff import compare_revisions
from posts.richtext import html_to_text, opening_html, reading_minutes
from posts.services import (
    EditConflict,
    discard_draft,
    record_revision,
    restore_revision,
)


class PostEditingAdminMixin:
    """Autosave, revisions and preview for the post admin."""

    PREVIEW_WIDTHS = {"desktop": 1280, "phone": 375}

    def _url_name(self, name: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{name}"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/autosave/",
                view(self.autosave_view),
                name=self._url_name("autosave"),
            ),
            path(
                "<path:object_id>/draft/discard/",
                view(self.discard_draft_view),
                name=self._url_name("discard_draft"),
            ),
            path(
                "<path:object_id>/revisions/",
                view(self.revisions_view),
                name=self._url_name("revisions"),
            ),
            path(
                "<path:object_id>/revisions/compare/",
                view(self.compare_view),
                name=self._url_name("compare"),
            ),
            path(
                "<path:object_id>/revisions/<int:revision_id>/restore/",
                view(self.restore_view),
                name=self._url_name("restore"),
            ),
            path(
                "<path:object_id>/preview/",
                view(self.web_preview_view),
                name=self._url_name("web_preview"),
            ),
            path(
                "<path:object_id>/preview/page/",
                view(self.web_preview_page_view),
                name=self._url_name("web_preview_page"),
            ),
            *super().get_urls(),
        ]

    # --- The edit page ---

    def _draft_for(self, request, post) -> PostDraft | None:
        if post is None or post.pk is None:
            return None
        return PostDraft.objects.filter(post=post, editor=request.user).first()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.method == "GET":
            form.autosaved_draft = self._draft_for(request, obj)
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            # The form opens with the draft on GET only; a re-shown form holds what was sent.
            draft = self._draft_for(request, obj) if request.method == "GET" else None
            context.update(
                {
                    "autosave_url": reverse(f"admin:{self._url_name('autosave')}", args=[obj.pk]),
                    "revisions_url": reverse(f"admin:{self._url_name('revisions')}", args=[obj.pk]),
                    "web_preview_url": reverse(
                        f"admin:{self._url_name('web_preview')}", args=[obj.pk]
                    ),
                    "discard_draft_url": reverse(
                        f"admin:{self._url_name('discard_draft')}", args=[obj.pk]
                    ),
                    "autosaved_draft": draft,
                    "draft_is_behind": draft is not None and draft.base_version != obj.version,
                    "last_revision": obj.revisions.select_related("author").first(),
                }
            )
            form = context.get("adminform").form if context.get("adminform") else None
            conflict = getattr(form, "conflict", None)
            if conflict is not None and conflict.revision is not None:
                context["conflict_revision"] = conflict.revision
                base = obj.revisions.filter(version=form.conflict_base).first()
                context["conflict_compare_url"] = (
                    reverse(f"admin:{self._url_name('compare')}", args=[obj.pk])
                    + f"?a={base.pk}&b={conflict.revision.pk}"
                    if base is not None
                    else context["revisions_url"]
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """Save as a new version and keep a revision of it; the editor's autosaved copy is
        now in the post, so it goes."""
        previous = getattr(form, "locked_post", None)
        if change and previous is not None:
            obj.version = previous.version + 1
        super().save_model(request, obj, form, change)
        record_revision(post=obj, author=request.user, previous=previous)
        discard_draft(post=obj, editor=request.user)

    # --- Autosave ---

    def _editable_post(self, request, object_id) -> Post:
        post = self.get_object(request, unquote(object_id))
        if post is None:
            raise Http404(gettext("There is no such post."))
        if not self.has_change_permission(request, post):
            raise PermissionDenied
        return post

    def autosave_view(self, request, object_id):
        """Keep the editor's unsaved words as their draft copy; answer in JSON."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self._editable_post(request, object_id)
        form = PostAutosaveForm(request.POST)
        if not form.is_valid():
            errors = [str(error) for errors in form.errors.values() for error in errors]
            return JsonResponse(
                {"saved": False, "error": " ".join(errors)}, status=HTTPStatus.BAD_REQUEST
            )
        try:
            draft = form.save(post=post, editor=request.user)
        except EditConflict as conflict:
            return JsonResponse(
                {"saved": False, "conflict": True, "error": conflict.message},
                status=HTTPStatus.CONFLICT,
            )
        return JsonResponse(
            {
                "saved": True,
                "saved_at": time_format(timezone.localtime(draft.saved_at), "H:i"),
                # The browser shows the time in the editor's own zone from this (post-autosave.js).
                "saved_at_iso": draft.saved_at.astimezone(UTC).isoformat(),
            }
        )

    def discard_draft_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self._editable_post(request, object_id)
        if discard_draft(post=post, editor=request.user):
            messages.success(request, gettext("Your autosaved draft is discarded."))
        return redirect(f"admin:{self._url_name('change')}", post.pk)

    # --- Revisions ---

    def _editing_context(self, request, post, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": post,
            "post_change_url": reverse(f"admin:{self._url_name('change')}", args=[post.pk]),
            "revisions_url": reverse(f"admin:{self._url_name('revisions')}", args=[post.pk]),
            **extra,
        }

    def revisions_view(self, request, object_id):
        """Every kept revision of the post, to compare two or restore one."""
        post = self._editable_post(request, object_id)
        revisions = list(post.revisions.select_related("author"))
        context = self._editing_context(
            request,
            post,
            title=gettext("Revisions of “%(title)s”") % {"title": post.title},
            revisions=revisions,
            compare_url=reverse(f"admin:{self._url_name('compare')}", args=[post.pk]),
        )
        return TemplateResponse(request, "admin/posts/post/revisions.html", context)

    def compare_view(self, request, object_id):
        """Two revisions side by side as one readable text: what was removed and added."""
        post = self._editable_post(request, object_id)
        ids = [request.GET.get("a"), request.GET.get("b")]
        if not all(value and value.isdigit() for value in ids):
            messages.error(request, gettext("Choose two revisions to compare."))
            return redirect(f"admin:{self._url_name('revisions')}", post.pk)
        found = {
            revision.pk: revision
            for revision in post.revisions.select_related("author").filter(pk__in=ids)
        }
        if len(found) != len(set(ids)):
            raise Http404(gettext("There is no such revision of this post."))
        old, new = sorted((found[int(ids[0])], found[int(ids[1])]), key=lambda r: r.version)
        context = self._editing_context(
            request,
            post,
            title=gettext("Compare versions %(old)d and %(new)d")
            % {"old": old.version, "new": new.version},
            old=old,
            new=new,
            diff=compare_revisions(old, new),
        )
        return TemplateResponse(request, "admin/posts/post/revision_compare.html", context)

    def restore_view(self, request, object_id, revision_id):
        """Put an earlier revision's words back, unless the post changed meanwhile."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self._editable_post(request, object_id)
        revision = get_object_or_404(PostRevision, pk=revision_id, post=post)
        try:
            base_version = int(request.POST.get("base_version", ""))
        except ValueError:
            base_version = -1
        try:
            restored = restore_revision(
                post=post, revision=revision, base_version=base_version, user=request.user
            )
        except EditConflict as conflict:
            messages.error(
                request,
                gettext("%(reason)s Nothing was restored: look at the revisions again first.")
                % {"reason": conflict.message},
            )
            return redirect(f"admin:{self._url_name('revisions')}", post.pk)
        text = gettext("Version %(old)d is restored as version %(new)d.") % {
            "old": revision.version,
            "new": restored.version,
        }
        if post.is_published():
            text += " " + gettext("The post is live: readers see the restored words now.")
        messages.success(request, text)
        return redirect(f"admin:{self._url_name('change')}", post.pk)

    # --- The web page preview ---

    def preview_extra_links(self, request, post) -> list[tuple[str, str]]:
        """(label, url) pairs the preview page links to; other apps' mixins add theirs."""
        return []

    def web_preview_view(self, request, object_id):
        """The post's reader page in a frame at desktop or phone width, saved or autosaved."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        post = self._editable_post(request, object_id)
        width = request.GET.get("width")
        width = width if width in self.PREVIEW_WIDTHS else "desktop"
        draft = self._draft_for(request, post)
        source = "draft" if draft is not None and request.GET.get("source") != "saved" else "saved"
        here = reverse(f"admin:{self._url_name('web_preview')}", args=[post.pk])
        page_url = reverse(f"admin:{self._url_name('web_preview_page')}", args=[post.pk])
        context = self._editing_context(
            request,
            post,
            title=gettext("Preview the web page"),
            width=width,
            width_px=self.PREVIEW_WIDTHS[width],
            source=source,
            draft=draft,
            frame_url=f"{page_url}?source={source}",
            width_urls={
                name: f"{here}?width={name}&source={source}" for name in self.PREVIEW_WIDTHS
            },
            source_urls={
                name: f"{here}?width={width}&source={name}" for name in ("draft", "saved")
            },
            extra_links=self.preview_extra_links(request, post),
        )
        response = TemplateResponse(request, "admin/posts/post/web_preview.html", context)
        # This page frames its own preview of the reader page, and nothing else.
        response._csp_replace = {"frame-src": [SELF]}
        return response

    def web_preview_page_view(self, request, object_id):
        """The real reader page of the post, with the editor's autosaved words when asked;
        staff only (admin_view), and framed only by our own pages."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        post = self._editable_post(request, object_id)
        post = get_object_or_404(Post.objects.for_page(request.user), pk=post.pk)
        draft = self._draft_for(request, post)
        if draft is not None and request.GET.get("source") == "draft":
            post.title, post.subtitle, post.body = draft.title, draft.subtitle, draft.body
            post.body_text = html_to_text(post.body)
            post.body_opening = opening_html(post.body)
            post.reading_minutes = reading_minutes(post.body_text)
        response = TemplateResponse(
            request,
            "posts/post_detail.html",
            {
                "post": post,
                "can_read": post.is_readable_by(request.user),
                "related": list(Post.objects.related_to(post)),
                "hide_footer_cta": True,
            },
        )
        response._csp_replace = {"frame-ancestors": [SELF]}
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response
