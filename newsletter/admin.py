"""The newsletter in the admin: follow, pause and resume sends, read deliveries, and the
mixin that adds "Send test email" and "Send to subscribers" to the post admin (composed into
it by the project package, futureforward/admin.py)."""

from urllib.parse import urlsplit

from csp.constants import SELF
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.admin_paging import WholeAddressSearch
from newsletter import services
from newsletter.delivery import classify
from newsletter.forms import NewsletterPreviewForm, NewsletterSendForm, NewsletterTestForm
from newsletter.models import Delivery, Newsletter, NewsletterSend
from newsletter.rendering import as_in_dark_mode


def _progress_line(send: NewsletterSend) -> str:
    if send.status == NewsletterSend.Status.SCHEDULED:
        return gettext("scheduled for %(time)s") % {
            "time": timezone.localtime(send.scheduled_for).strftime("%Y-%m-%d %H:%M")
        }
    if send.status == NewsletterSend.Status.FINISHED:
        counts = {
            "sent": send.sent_count,
            "failed": send.failed_count,
            "bounced": send.bounced_count,
            "total": send.recipients_count,
        }
    else:
        progress = send.progress()
        counts = {
            "sent": progress[Delivery.Status.SENT],
            "failed": progress[Delivery.Status.FAILED],
            "bounced": progress[Delivery.Status.BOUNCED],
            "total": progress["total"],
        }
    return gettext("%(sent)d of %(total)d sent, %(failed)d failed, %(bounced)d bounced") % counts


@admin.register(NewsletterSend)
class NewsletterSendAdmin(admin.ModelAdmin):
    """Sends are started from the post admin; here editors follow, pause and resume them."""

    list_display = [
        "post",
        "newsletter",
        "segment",
        "status",
        "progress_summary",
        "created_by",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "newsletter", "mode"]
    search_fields = ["post__title"]
    list_select_related = ["post", "created_by", "newsletter", "segment"]
    date_hierarchy = "created_at"
    change_form_template = "newsletter/admin/newslettersend_change_form.html"
    fields = [
        "post",
        "newsletter",
        "segment",
        "status",
        "mode",
        "teaser_words",
        "subject",
        "created_by",
        "created_at",
        "scheduled_for",
        "started_at",
        "finished_at",
        "recipients_count",
        "heartbeat_at",
        "retry_at",
        "last_error",
    ]
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress_summary(self, send):
        return _progress_line(send)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only record; the buttons on the page call the services instead.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a send would let the post go out a second time.
        return False

    def _may_control(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/do/<slug:action>/",
                self.admin_site.admin_view(self.control_view),
                name="{}_{}_control".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        send = self.get_object(request, unquote(object_id))
        extra_context = extra_context or {}
        if send is not None:
            progress = send.progress()
            extra_context.update(
                {
                    "progress": progress,
                    "progress_done": progress["total"] - progress[Delivery.Status.PENDING],
                    "may_control": self._may_control(request),
                    "deliveries_url": reverse("admin:newsletter_delivery_changelist")
                    + f"?send__id__exact={send.pk}",
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    ACTIONS = {
        "pause": services.pause_send,
        "resume": services.resume_send,
        "retry-failed": services.retry_failed,
        "cancel": None,
    }

    def control_view(self, request, object_id, action):
        send = get_object_or_404(NewsletterSend, pk=object_id)
        if action not in self.ACTIONS:
            return redirect("admin:newsletter_newslettersend_change", send.pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self._may_control(request):
            raise PermissionDenied
        try:
            if action == "cancel":
                if send.status != NewsletterSend.Status.SCHEDULED or send.started_at:
                    raise services.NewsletterError(
                        gettext("Only a send that has not started can be cancelled.")
                    )
                post = send.post
                send.delete()
                messages.success(request, gettext("The scheduled send is cancelled."))
                return redirect("admin:posts_post_change", post.pk)
            result = self.ACTIONS[action](send=send)
        except services.NewsletterError as exc:
            messages.error(request, str(exc))
        else:
            if action == "retry-failed":
                messages.success(
                    request,
                    gettext("%(count)d failed deliveries queued again.") % {"count": result},
                )
            else:
                messages.success(request, gettext("Done."))
        return redirect("admin:newsletter_newslettersend_change", send.pk)


@admin.register(Delivery)
class DeliveryAdmin(WholeAddressSearch, admin.ModelAdmin):
    address_field = "user__email"
    list_display = ["user", "send", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "send"]
    search_fields = ["user__email"]
    list_select_related = ["user", "send__post"]
    show_full_result_count = False
    readonly_fields = [
        "send",
        "user",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "available_at",
        "claimed_by",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NewsletterPostAdminMixin:
    """Adds "Send test email" and "Send to subscribers" to the post admin.

    Mixed into the post admin by the project package (futureforward/admin.py), so posts never
    imports the newsletter. It wraps whatever change form template the post admin uses instead
    of replacing it, so both apps can customise that page.
    """

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/newsletter/test/",
                self.admin_site.admin_view(self.newsletter_test_view),
                name="{}_{}_newsletter_test".format(*info),
            ),
            path(
                "<path:object_id>/newsletter/preview/",
                self.admin_site.admin_view(self.newsletter_preview_view),
                name="{}_{}_newsletter_preview".format(*info),
            ),
            path(
                "<path:object_id>/newsletter/preview/email/",
                self.admin_site.admin_view(self.newsletter_preview_email_view),
                name="{}_{}_newsletter_preview_email".format(*info),
            ),
            path(
                "<path:object_id>/newsletter/send/",
                self.admin_site.admin_view(self.newsletter_send_view),
                name="{}_{}_newsletter_send".format(*info),
            ),
            *super().get_urls(),
        ]

    # --- The edit page's "Email to subscribers" choice, beside "Publish on the site" ---

    EMAIL_NO = "no"
    EMAIL_SEND = "send"

    def _email_choice_field(self) -> forms.ChoiceField:
        newsletter = Newsletter.objects.default()
        count = services.active_subscriber_count(newsletter=newsletter)
        return forms.ChoiceField(
            label=_("By email"),
            choices=[
                (self.EMAIL_NO, _("Don't email it now")),
                (
                    self.EMAIL_SEND,
                    _(
                        "Email it after saving: the next page shows what goes out to whom, "
                        "and asks you to confirm"
                    ),
                ),
            ],
            initial=self.EMAIL_NO,
            widget=forms.RadioSelect,
            required=False,
            help_text=ngettext(
                "%(count)d confirmed subscriber of “%(newsletter)s” would get it now; the next "
                "page lets you choose another newsletter or a segment. A post is emailed once.",
                "%(count)d confirmed subscribers of “%(newsletter)s” would get it now; the next "
                "page lets you choose another newsletter or a segment. A post is emailed once.",
                count,
            )
            % {"count": count, "newsletter": newsletter.name},
        )

    def _may_email(self, request, obj) -> bool:
        return (
            obj is not None
            and obj.pk is not None
            and request.user.has_perm("newsletter.add_newslettersend")
            and not NewsletterSend.objects.filter(post=obj).exists()
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self._may_email(request, obj):
            base = kwargs.get("form", self.form)
            kwargs["form"] = type(
                base.__name__, (base,), {"email_subscribers": self._email_choice_field()}
            )
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or obj.pk is None:
            return fieldsets
        fields = ["email_subscribers"] if self._may_email(request, obj) else ["email_status"]
        fieldsets.append(
            (
                _("Email to subscribers"),
                {
                    "fields": fields,
                    "classes": ["ff-publish-panel"],
                    "description": _(
                        "Sending by email is separate from publishing on the site: saving "
                        "never emails anyone by itself."
                    ),
                },
            )
        )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "email_status"]

    @admin.display(description=_("email"))
    def email_status(self, post):
        send = NewsletterSend.objects.filter(post=post).first() if post.pk else None
        if send is None:
            return _("Not emailed.")
        return f"{send.get_status_display()}: {_progress_line(send)}"

    def _after_save(self, request, obj, response):
        if request.POST.get("email_subscribers") == self.EMAIL_SEND and self._may_email(
            request, obj
        ):
            info = self.opts.app_label, self.opts.model_name
            return redirect(reverse("admin:{}_{}_newsletter_send".format(*info), args=[obj.pk]))
        return response

    def response_change(self, request, obj):
        return self._after_save(request, obj, super().response_change(request, obj))

    def preview_extra_links(self, request, post) -> list[tuple[str, str]]:
        links = list(super().preview_extra_links(request, post))
        if request.user.has_perm("newsletter.add_newslettersend"):
            info = self.opts.app_label, self.opts.model_name
            url = reverse("admin:{}_{}_newsletter_preview".format(*info), args=[post.pk])
            links.append((gettext("Preview the email (a subscriber's copy, light or dark)"), url))
        return links

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if obj is None or obj.pk is None or not isinstance(response, TemplateResponse):
            return response
        names = response.template_name
        parent = select_template([names] if isinstance(names, str) else names)
        send = NewsletterSend.objects.filter(post=obj).first()
        response.context_data["newsletter_parent_template"] = parent.template
        response.context_data["newsletter"] = self._newsletter_links(obj, send)
        response.template_name = "newsletter/admin/post_change_form.html"
        return response

    def _newsletter_links(self, post, send) -> dict:
        info = self.opts.app_label, self.opts.model_name
        links = {
            "test_url": reverse("admin:{}_{}_newsletter_test".format(*info), args=[post.pk]),
            "preview_url": reverse("admin:{}_{}_newsletter_preview".format(*info), args=[post.pk]),
            "send": send,
        }
        if send:
            links["send_url"] = reverse("admin:newsletter_newslettersend_change", args=[send.pk])
            links["summary"] = f"{send.get_status_display()}: {_progress_line(send)}"
        else:
            links["start_url"] = reverse(
                "admin:{}_{}_newsletter_send".format(*info), args=[post.pk]
            )
        return links

    def _newsletter_post(self, request, object_id):
        post = self.get_object(request, unquote(object_id))
        if post is None:
            return None
        if not self.has_change_permission(request, post):
            raise PermissionDenied
        return post

    def _newsletter_context(self, request, post, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": post,
            "post_change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[post.pk]
            ),
            **extra,
        }

    def newsletter_test_view(self, request, object_id):
        """Send the editor the post's email exactly as subscribers would get it."""
        post = self._newsletter_post(request, object_id)
        if post is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = NewsletterTestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                sent_to = services.send_test_email(
                    post=post,
                    to_user=request.user,
                    mode=form.cleaned_data["mode"],
                    teaser_words=form.cleaned_data["teaser_words"],
                    addresses=form.cleaned_data["recipients"],
                )
            except Exception as exc:  # the mail server's answer, shown to the editor
                _, reason = classify(exc)
                form.add_error(None, gettext("The test email could not be sent: %s") % reason)
            else:
                messages.success(
                    request,
                    gettext("Test email sent to %(email)s.") % {"email": ", ".join(sent_to)},
                )
                return redirect(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change", post.pk
                )
        context = self._newsletter_context(
            request, post, form=form, title=gettext("Send a test email")
        )
        return TemplateResponse(request, "newsletter/admin/newsletter_test.html", context)

    def newsletter_send_view(self, request, object_id):
        """Confirm, then send the post to every active subscriber (once per post)."""
        post = self._newsletter_post(request, object_id)
        if post is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not request.user.has_perm("newsletter.add_newslettersend"):
            raise PermissionDenied
        existing = NewsletterSend.objects.filter(post=post).first()
        if existing:
            messages.warning(request, services.already_sent_message(existing))
            return redirect("admin:newsletter_newslettersend_change", existing.pk)
        recount = "_recount" in request.POST or "newsletter" in request.GET
        form = NewsletterSendForm(
            request.POST or (request.GET if "newsletter" in request.GET else None), post=post
        )
        if request.method == "POST" and not recount and form.is_valid():
            try:
                send = services.create_send(
                    post=post,
                    created_by=request.user,
                    mode=form.cleaned_data["mode"],
                    teaser_words=form.cleaned_data["teaser_words"],
                    at_publish_time=form.cleaned_data["when"] == NewsletterSendForm.AT_PUBLISH_TIME,
                    newsletter=form.cleaned_data["newsletter"],
                    segment=form.cleaned_data["segment"],
                )
            except services.NewsletterError as exc:
                form.add_error(None, str(exc))
            else:
                if send.status == NewsletterSend.Status.SCHEDULED:
                    text = gettext("Scheduled: the email goes out at the publish time.")
                else:
                    text = gettext("Sending to %(count)d subscribers.") % {
                        "count": send.recipients_count
                    }
                messages.success(request, text)
                return redirect("admin:newsletter_newslettersend_change", send.pk)
        newsletter, segment = form.audience()
        context = self._newsletter_context(
            request,
            post,
            form=form,
            title=gettext("Send to subscribers"),
            subscriber_count=services.active_subscriber_count(
                newsletter=newsletter, segment=segment
            ),
            audience_newsletter=newsletter,
            audience_segment=segment,
            recount=recount,
            test_url=reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_newsletter_test",
                args=[post.pk],
            ),
        )
        return TemplateResponse(request, "newsletter/admin/newsletter_send.html", context)

    # --- Previewing the email as one subscriber gets it ---

    def _newsletter_preview(self, request, object_id):
        """Return (post, bound form) for a preview, or raise: editors who may send only, since
        the preview carries a subscriber's own links."""
        post = self._newsletter_post(request, object_id)
        if post is None:
            raise Http404
        if not request.user.has_perm("newsletter.add_newslettersend"):
            raise PermissionDenied
        return post, NewsletterPreviewForm(request.GET, editor=request.user)

    def newsletter_preview_view(self, request, object_id):
        """The email as a chosen subscriber would get it: the HTML in a sandboxed frame at
        desktop or phone width, and the plain-text part below it. Nothing is sent."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        post, form = self._newsletter_preview(request, object_id)
        info = self.opts.app_label, self.opts.model_name
        extra = {}
        if form.is_valid():
            data = form.cleaned_data
            message = services.preview_email(
                post=post,
                as_user=data["subscriber"],
                mode=data["mode"],
                teaser_words=data["teaser_words"],
            )
            here = reverse("admin:{}_{}_newsletter_preview".format(*info), args=[post.pk])
            email_url = reverse(
                "admin:{}_{}_newsletter_preview_email".format(*info), args=[post.pk]
            )
            extra = {"message": message, **form.preview_context(here=here, email_url=email_url)}
        context = self._newsletter_context(
            request,
            post,
            form=form,
            title=gettext("Preview the email"),
            test_url=reverse("admin:{}_{}_newsletter_test".format(*info), args=[post.pk]),
            **extra,
        )
        response = TemplateResponse(request, "newsletter/admin/newsletter_preview.html", context)
        # The page frames its own preview URL, and nothing else (django-csp's per-view replace;
        # an update would give "'none' 'self'").
        response._csp_replace = {"frame-src": [SELF]}
        return response

    def newsletter_preview_email_view(self, request, object_id):
        """The HTML part of the previewed email, as a document of its own for the preview's
        frame. Its inline styles are the email's, so it gets a policy of its own: inline styles
        and images, no script at all, sandboxed, framed only by our pages."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        post, form = self._newsletter_preview(request, object_id)
        if not form.is_valid():
            return HttpResponseBadRequest(
                gettext("Check the preview's settings."), content_type="text/plain; charset=utf-8"
            )
        data = form.cleaned_data
        message = services.preview_email(
            post=post,
            as_user=data["subscriber"],
            mode=data["mode"],
            teaser_words=data["teaser_words"],
        )
        html = message.alternatives[0][0]
        if data["scheme"] == NewsletterPreviewForm.DARK:
            html = as_in_dark_mode(html)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = preview_policy()
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response


def preview_policy() -> str:
    """Return the Content-Security-Policy of a previewed email: what a mail client allows."""
    # The site's own image sources (its media, a bucket), and SITE_URL, which email links to.
    images = list(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].get("img-src", [SELF]))
    site = urlsplit(settings.SITE_URL)
    images.append(f"{site.scheme}://{site.netloc}")
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            f"img-src {' '.join(dict.fromkeys(images))}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
            "sandbox",
        ]
    )


from newsletter import admin_audience  # noqa: E402, F401 (registers the audience's admin)
