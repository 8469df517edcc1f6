"""Admin for the knowledge base: upload a document (.md/.txt/.pdf), watch its embedding progress."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.text import slugify

from assistant.knowledge.extraction import extract_text
from assistant.knowledge.privacy import document_privacy_check
from assistant.knowledge.services import knowledge_document_ingest
from assistant.models import Chunk, KnowledgeDocument
from optiq_site.upload_limits import check_upload_size

CHANGE_PERMISSION = "assistant.change_knowledgedocument"


class KnowledgeUploadForm(forms.ModelForm):
    upload = forms.FileField(required=False, help_text="A .md, .txt or .pdf file; replaces the content below.")
    user: Any = None  # set by the admin: the rules below depend on who saves

    class Meta:
        model = KnowledgeDocument
        fields = ["title", "slug", "category", "source_type", "content"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("content", "slug", "title"):
            self.fields[name].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload:
            try:
                check_upload_size(upload=upload, field="file")
                data["source_type"], data["content"] = extract_text(filename=upload.name, data=upload.read())
            except ValidationError as exc:
                raise ValidationError({"upload": exc.messages}) from exc
            data["slug"] = data.get("slug") or upload.name.rsplit(".", 1)[0]
        if not data.get("content"):
            raise ValidationError({"content": "Give the document's text or upload a file."})
        if not (data.get("title") or data.get("slug")) and data.get("source_type") != "markdown":
            raise ValidationError({"title": "A document needs a title."})
        # The service holds both rules too; here they show on the form instead of failing the save.
        slug = slugify(data.get("slug") or data.get("title") or "")
        taken = KnowledgeDocument.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists()
        if taken and not self.instance.pk and not (self.user and self.user.has_perm(CHANGE_PERMISSION)):
            raise ValidationError(
                {
                    "slug": f"A document with the slug {slug!r} exists; replacing it needs the permission to change documents."
                }
            )
        try:
            document_privacy_check(text=f"{data.get('title') or ''}\n{data['content']}", user=self.user)
        except ValidationError as exc:
            raise ValidationError({"upload" if upload else "content": exc.message_dict["content"]}) from exc
        return data


class ChunkInline(admin.TabularInline):
    model = Chunk
    fields = readonly_fields = ("position", "heading", "text", "token_count", "has_embedding")
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(boolean=True, description="embedded")
    def has_embedding(self, chunk: Chunk) -> bool:
        return chunk.embedding is not None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    form = KnowledgeUploadForm
    list_display = ["title", "category", "source_type", "status", "progress_display", "chunks_total", "updated_at"]
    list_filter = ["status", "source_type", "category"]
    search_fields = ["title", "slug", "content"]
    readonly_fields = [
        "status",
        "progress_display",
        "chunks_total",
        "chunks_done",
        "error",
        "embedded_at",
        "content_hash",
    ]
    inlines = [ChunkInline]
    actions = ["re_embed"]

    @admin.display(description="progress")
    def progress_display(self, document: KnowledgeDocument) -> str:
        return f"{document.progress}%"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.by_slug_view)
        return [path("by-slug/<slug:slug>/", view, name="assistant_knowledgedocument_by_slug"), *super().get_urls()]

    def by_slug_view(self, request: HttpRequest, slug: str) -> HttpResponseRedirect:
        """An answer's source names its document by slug: open that document."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        document = get_object_or_404(KnowledgeDocument, slug=slug)
        return HttpResponseRedirect(reverse("admin:assistant_knowledgedocument_change", args=[document.pk]))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request: HttpRequest, obj: KnowledgeDocument, form: Any, change: bool) -> None:
        data = form.cleaned_data
        result = knowledge_document_ingest(
            replace_existing=change or request.user.has_perm(CHANGE_PERMISSION),
            content=data["content"],
            slug=data.get("slug") or obj.slug,
            title=data.get("title") or "",
            category=data.get("category") or "",
            source_type=data.get("source_type") or "markdown",
            source_name=data["upload"].name if data.get("upload") else obj.source_name,
            created_by=request.user,
            embed="task",
        )
        form.instance = result.document
        obj.pk = result.document.pk
        if not result.changed:
            messages.info(request, "The content is unchanged: nothing to re-embed.")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # chunks are written by the ingestion service

    def response_add(
        self, request: HttpRequest, obj: KnowledgeDocument, post_url_continue: str | None = None
    ) -> HttpResponseRedirect:
        return HttpResponseRedirect("../")

    @admin.action(description="Embed again", permissions=["change"])
    def re_embed(self, request: HttpRequest, queryset: Any) -> None:
        from assistant.tasks.knowledge import knowledge_document_embed_task

        for document in queryset:
            document.chunks.update(embedding=None)
            KnowledgeDocument.objects.filter(pk=document.pk).update(
                status=KnowledgeDocument.Status.PENDING, chunks_done=0
            )
            knowledge_document_embed_task.delay(document.pk)
        messages.success(request, f"{queryset.count()} document(s) queued for embedding.")
