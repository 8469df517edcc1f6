"""Admin for fine-tuning: review examples in bulk, import/export JSONL, make drafts from the
assistant's feedback, start jobs, watch them live (progress, loss chart, log tail, side-by-side
answers), cancel, deploy, roll back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from assistant.admin.threads import AssistantFeedbackAdmin
from assistant.models import AssistantFeedback
from assistant.threads import REVIEWER_PERMISSION
from optiq_site.upload_limits import check_upload_size
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.privacy_scan import findings_message
from training_jobs.selectors import training_examples_export_lines
from training_jobs.services import (
    training_example_create,
    training_example_create_from_feedback,
    training_example_update,
    training_examples_import,
    training_examples_review,
    training_job_cancel,
    training_job_create,
    training_job_deploy,
    training_job_rollback,
)
from training_jobs.services.examples import APPROVE_PERMISSION
from training_jobs.services.router_examples import (
    ROUTER_HYPERPARAMETERS,
    ROUTER_TRAINING_COUNT,
    router_example_from_feedback,
    router_examples,
)

RUN_PERM = "training_jobs.run_training_job"


class ImportForm(forms.Form):
    file = forms.FileField(help_text='JSONL: {"prompt": ..., "completion": ...} or {"messages": [...]} per line.')
    status = forms.ChoiceField(choices=TrainingExample.Status.choices, initial=TrainingExample.Status.DRAFT)
    category = forms.CharField(max_length=64, required=False, help_text="For lines that name no category.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            check_upload_size(upload=upload, field="file")
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["file"]) from None
        return upload


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ["id", "short_prompt", "category", "status", "source", "reviewer", "updated_at"]
    list_filter = ["status", "category", "source"]
    search_fields = ["prompt", "completion", "category"]
    readonly_fields = ["content_hash", "reviewer", "reviewed_at", "created_by", "created_at", "updated_at"]
    fields = ["prompt", "completion", "system_prompt", "category", "source", "status", *readonly_fields]
    actions = ["approve", "reject", "export_prompt_completion", "export_chat"]
    change_list_template = "admin/training_jobs/trainingexample/change_list.html"

    @admin.display(description="prompt")
    def short_prompt(self, obj: TrainingExample) -> str:
        return obj.prompt[:90]

    def save_model(self, request: HttpRequest, obj: TrainingExample, form: Any, change: bool) -> None:
        # Through the services, so the content hash and review fields stay right: the status
        # changes only through review (edited approved text goes back to draft, and is approved
        # again only by a reviewer, whose approval is recorded).
        try:
            if change:
                wanted = obj.status
                obj.status = TrainingExample.objects.values_list("status", flat=True).get(pk=obj.pk)
                was_approved = obj.status == TrainingExample.Status.APPROVED
                training_example_update(
                    example=obj,
                    **{k: form.cleaned_data[k] for k in ("prompt", "completion", "system_prompt", "category")},
                )
                if wanted != obj.status:
                    if (
                        was_approved
                        and wanted == TrainingExample.Status.APPROVED
                        and not request.user.has_perm(APPROVE_PERMISSION)
                    ):
                        messages.warning(request, "The text changed, so the example went back to review (draft).")
                    else:
                        training_examples_review(examples=[obj], status=wanted, reviewer=request.user)
            else:
                created = training_example_create(
                    prompt=obj.prompt,
                    completion=obj.completion,
                    system_prompt=obj.system_prompt,
                    category=obj.category,
                    source=obj.source,
                    status=obj.status,
                    created_by=request.user,
                )
                obj.pk = created.pk
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))

    @admin.action(description="Approve selected examples")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        try:
            n = training_examples_review(
                examples=queryset, status=TrainingExample.Status.APPROVED, reviewer=request.user
            )
        except ValidationError as exc:
            for line in exc.messages:
                messages.error(request, line)
            return
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return
        messages.success(request, f"{n} examples approved")

    @admin.action(description="Reject selected examples")
    def reject(self, request: HttpRequest, queryset: Any) -> None:
        n = training_examples_review(examples=queryset, status=TrainingExample.Status.REJECTED, reviewer=request.user)
        messages.success(request, f"{n} examples rejected")

    def _export(self, request: HttpRequest, queryset: Any, fmt: str) -> HttpResponse | None:
        lines, findings = training_examples_export_lines(examples=queryset, fmt=fmt)
        if findings:
            for line in findings_message(findings, user=request.user):
                messages.error(request, line)
            return None
        response = HttpResponse("".join(line + "\n" for line in lines), content_type="application/jsonl")
        response["Content-Disposition"] = f'attachment; filename="training-examples-{fmt}.jsonl"'
        return response

    @admin.action(description="Export selected as JSONL (prompt/completion)")
    def export_prompt_completion(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._export(request, queryset, "prompt_completion")

    @admin.action(description="Export selected as JSONL (chat messages)")
    def export_chat(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self._export(request, queryset, "chat")

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="training_jobs_trainingexample_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                report = training_examples_import(
                    lines=form.cleaned_data["file"],
                    status=form.cleaned_data["status"],
                    default_category=form.cleaned_data["category"],
                    created_by=request.user,
                )
            except PermissionDenied as exc:
                form.add_error("status", str(exc))
        return TemplateResponse(
            request,
            "admin/training_jobs/trainingexample/import.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "report": report,
                "opts": self.model._meta,
                "title": "Import training examples",
            },
        )


# The teach side extends the assistant's feedback admin (as apps extend auth's UserAdmin), so
# that the assistant app never imports this one.
admin.site.unregister(AssistantFeedback)


@admin.register(AssistantFeedback)
class FeedbackToTrainingExampleAdmin(AssistantFeedbackAdmin):
    actions = ["make_training_example", "make_training_example_with_figures", "make_router_example"]

    def has_make_training_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REVIEWER_PERMISSION)

    @admin.action(description="Make draft training example", permissions=["make_training"])
    def make_training_example(self, request: HttpRequest, queryset: QuerySet[AssistantFeedback]) -> None:
        self._make_training_examples(request, queryset, confirm_restricted_figures=False)

    @admin.action(
        description="Make draft training example, confirming that its cost or sales figures may be trained on",
        permissions=["make_training"],
    )
    def make_training_example_with_figures(self, request: HttpRequest, queryset: QuerySet[AssistantFeedback]) -> None:
        self._make_training_examples(request, queryset, confirm_restricted_figures=True)

    def _make_training_examples(
        self, request: HttpRequest, queryset: QuerySet[AssistantFeedback], *, confirm_restricted_figures: bool
    ) -> None:
        made = skipped = 0
        for feedback in queryset:
            try:
                example = training_example_create_from_feedback(
                    feedback=feedback, user=request.user, confirm_restricted_figures=confirm_restricted_figures
                )
            except ValidationError as exc:
                messages.warning(request, f"Feedback {feedback.pk}: {'; '.join(exc.messages)}")
                continue
            if example is None:
                skipped += 1
            else:
                made += 1
        messages.success(
            request,
            f"{made} draft training example(s) made; {skipped} skipped (already made, nothing to teach, or patient data).",
        )

    @admin.action(
        description="Make draft router example (the query the answer ran, to correct)", permissions=["make_training"]
    )
    def make_router_example(self, request: HttpRequest, queryset: QuerySet[AssistantFeedback]) -> None:
        made = skipped = 0
        for feedback in queryset.select_related("message"):
            try:
                example = router_example_from_feedback(feedback=feedback, user=request.user)
            except ValidationError as exc:
                messages.warning(request, f"Feedback {feedback.pk}: {'; '.join(exc.messages)}")
                continue
            made += example is not None
            skipped += example is None
        messages.success(
            request,
            f"{made} draft router example(s) made: correct each to the query that gives the right figure, then "
            f"approve; {skipped} skipped (not a data answer, patient data, or the question has one already).",
        )


class TrainingJobForm(forms.ModelForm):
    trains = forms.ChoiceField(
        choices=[
            ("chat", "The chat model: the approved examples outside the router category"),
            ("router", "A router: a sample of the approved router examples (build them with build_router_dataset)"),
        ],
        initial="chat",
        required=False,
        help_text="A router job's result is registered with the router role; it reads data questions for the parser.",
    )
    router_examples = forms.IntegerField(
        required=False, min_value=2, initial=ROUTER_TRAINING_COUNT, help_text="A router job: how many examples."
    )
    hyperparameters = forms.JSONField(
        required=False,
        initial=dict,
        help_text='Overrides, e.g. {"num_epochs": 2, "lora_r": 8}. Empty: defaults (a router job: the router\'s).',
    )

    class Meta:
        model = TrainingJob
        fields = [
            "trains",
            "router_examples",
            "name",
            "base_model",
            "base_identifier",
            "chat_format",
            "hyperparameters",
            "merge_quantized",
            "deploy_on_success",
        ]


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    form = TrainingJobForm
    list_display = ["id", "__str__", "status", "progress", "base_model", "worker", "created_at"]
    list_filter = ["status"]
    change_form_template = "admin/training_jobs/trainingjob/change_form.html"
    change_list_template = "admin/training_jobs/trainingjob/change_list.html"

    @admin.display(description="progress")
    def progress(self, obj: TrainingJob) -> str:
        return f"{obj.step}/{obj.total_steps} ({obj.progress_percent}%)" if obj.total_steps else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RUN_PERM)

    def get_readonly_fields(self, request: HttpRequest, obj: TrainingJob | None = None) -> list[str]:
        if obj is None:
            return []
        return [f.name for f in TrainingJob._meta.fields]

    def get_fields(self, request: HttpRequest, obj: TrainingJob | None = None) -> list[Any]:
        if obj is None:
            return list(TrainingJobForm.Meta.fields)
        return [
            "name",
            "status",
            "base_model",
            "base_identifier",
            "chat_format",
            "hyperparameters",
            "dataset_hash",
            "output_dir",
            "worker",
            "device",
            "attempts",
            "started_at",
            "finished_at",
            "model_version",
            "error",
        ]

    def save_model(self, request: HttpRequest, obj: TrainingJob, form: Any, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        router = data.get("trains") == "router"
        hyperparameters = data.get("hyperparameters") or (ROUTER_HYPERPARAMETERS if router else {})
        job = training_job_create(
            examples=router_examples(count=data.get("router_examples") or ROUTER_TRAINING_COUNT) if router else None,
            base_model=data.get("base_model"),
            base_identifier=data.get("base_identifier", ""),
            chat_format=data.get("chat_format", ""),
            hyperparameters=hyperparameters,
            name=data.get("name", ""),
            merge_quantized=data.get("merge_quantized", False),
            deploy_on_success=data.get("deploy_on_success", False),
            created_by=request.user,
        )
        obj.pk = job.pk

    def response_add(
        self, request: HttpRequest, obj: TrainingJob, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Straight to the job's page, where its progress is shown live.
        messages.success(request, f"training job {obj.pk} queued")
        return HttpResponseRedirect(reverse("admin:training_jobs_trainingjob_change", args=[obj.pk]))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return HttpResponseRedirect(request.path)
        except PermissionDenied as exc:
            if not str(exc):
                raise
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.path)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("readiness/", view(self.readiness_view), name="training_jobs_trainingjob_readiness"),
            path("rollback/", view(self.rollback_view), name="training_jobs_trainingjob_rollback"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="training_jobs_trainingjob_cancel"),
            path("<int:pk>/deploy/", view(self.deploy_view), name="training_jobs_trainingjob_deploy"),
            *super().get_urls(),
        ]

    def _require_run(self, request: HttpRequest) -> None:
        if request.method != "POST" or not request.user.has_perm(RUN_PERM):
            raise PermissionDenied

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_run(request)
        try:
            training_job_cancel(job=get_object_or_404(TrainingJob, pk=pk), user=request.user)
            messages.success(request, "cancel requested: the run stops within one step and keeps its checkpoint")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return HttpResponseRedirect(reverse("admin:training_jobs_trainingjob_change", args=[pk]))

    def deploy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_run(request)
        try:
            version = training_job_deploy(job=get_object_or_404(TrainingJob, pk=pk), user=request.user)
            messages.success(request, f"{version.name} is now the active {version.role} model")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("admin:training_jobs_trainingjob_change", args=[pk]))

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
        self._require_run(request)
        try:
            role = "router" if request.POST.get("role") == "router" else "chat"
            version = training_job_rollback(user=request.user, role=role)
            if version is None:
                messages.success(request, "router switched off: the question parser reads data questions again")
            else:
                messages.success(request, f"rolled back: {version.name} is the active {role} model again")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        return HttpResponseRedirect(reverse("admin:training_jobs_trainingjob_changelist"))

    def readiness_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        from training_jobs.readiness import readiness_report
        from training_jobs.selectors import base_tokenizer_for_readiness

        tokenizer, chat_format = base_tokenizer_for_readiness()
        return TemplateResponse(
            request,
            "admin/training_jobs/trainingjob/readiness.html",
            {
                **self.admin_site.each_context(request),
                "report": readiness_report(tokenizer=tokenizer, chat_format=chat_format),
                "opts": self.model._meta,
                "title": "Training readiness",
            },
        )
