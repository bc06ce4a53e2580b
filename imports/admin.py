from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from imports.forms import ImportUploadForm
from imports.models import Import, RemoteImage
from imports.services import create_import, start_fetching_images, start_import

ACTIONS = ("create", "update", "skip", "problem")


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    """Upload an export, read its dry run, confirm, watch the progress, fetch the images."""

    list_display = ["filename", "kind", "status", "created_at", "created_by"]
    list_filter = ["kind", "status"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # The uploaded file (up to IMPORTS_MAX_UPLOAD_MB) stays in the database until a task
        # reads it; the pages, the list and the progress polling never need it.
        return super().get_queryset(request).defer("data")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/progress/", view(self.progress_view), name=f"{prefix}_progress"),
            path("<int:pk>/start/", view(require_POST(self.start_view)), name=f"{prefix}_start"),
            path(
                "<int:pk>/images/",
                view(self.images_view),
                name=f"{prefix}_images",
            ),
            path(
                "<int:pk>/fetch-images/",
                view(require_POST(self.fetch_images_view)),
                name=f"{prefix}_fetch_images",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(
            request.POST or None,
            request.FILES or None,
            kind=request.GET.get("kind", ""),
            editor=request.user,
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = create_import(
                kind=form.cleaned_data["kind"],
                data=upload.read(),
                filename=upload.name,
                newsletter=form.cleaned_data["newsletter"],
                old_site_url=form.cleaned_data["old_site_url"],
                created_by=request.user,
                posts_author=form.cleaned_data["posts_author"],
            )
            messages.success(request, gettext("Uploaded. The dry run is reading the file."))
            return HttpResponseRedirect(reverse("admin:imports_import_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import from another platform"),
            "form": form,
        }
        return TemplateResponse(request, "imports/admin/import_add.html", context)

    def _context(self, request, job: Import) -> dict:
        rows = job.report or []
        wanted = request.GET.get("show", "")
        shown = [row for row in rows if not wanted or row.get("action") == wanted][:500]
        images = list(job.images.select_related("post").order_by("pk")[:500])
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(job),
            "job": job,
            "original": job,
            "counts": [
                (what, [(action, counts.get(action, 0)) for action in ACTIONS])
                for what, counts in sorted((job.counts or {}).items())
            ],
            "rows": shown,
            "shown_action": wanted,
            "rows_total": len(rows),
            "images": images,
            "images_waiting": sum(1 for i in images if i.status != RemoteImage.Status.FETCHED),
            "images_done": sum(1 for i in images if i.status != RemoteImage.Status.WAITING),
            "images_url": reverse("admin:imports_import_images", args=[job.pk]),
            "progress_url": reverse("admin:imports_import_progress", args=[job.pk]),
            "start_url": reverse("admin:imports_import_start", args=[job.pk]),
            "fetch_url": reverse("admin:imports_import_fetch_images", args=[job.pk]),
            "can_start": self.has_change_permission(request, job)
            and job.status in {Import.Status.CHECKED, Import.Status.DONE, Import.Status.FAILED},
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return TemplateResponse(
            request, "imports/admin/import_detail.html", self._context(request, job)
        )

    def progress_view(self, request, pk):
        """The progress box alone, for htmx to swap in while the task runs."""
        job = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return TemplateResponse(
            request, "imports/admin/_progress.html", self._context(request, job)
        )

    def images_view(self, request, pk):
        """The images box alone, for htmx to swap in while they are fetched."""
        job = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return TemplateResponse(request, "imports/admin/_images.html", self._context(request, job))

    def start_view(self, request, pk):
        job = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        if start_import(job=job):
            messages.success(request, gettext("The import has started."))
        else:
            messages.error(request, gettext("This import is running already or cannot run."))
        return HttpResponseRedirect(reverse("admin:imports_import_change", args=[job.pk]))

    def fetch_images_view(self, request, pk):
        job = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        if start_fetching_images(job=job):
            messages.success(request, gettext("Fetching the images: they arrive below."))
        elif Import.objects.get(pk=job.pk).images_busy():
            messages.info(request, gettext("The images are being fetched already."))
        else:
            messages.info(request, gettext("Every image is fetched already."))
        return HttpResponseRedirect(reverse("admin:imports_import_change", args=[job.pk]))
