"""Admin for assistant threads, messages and feedback (training_jobs adds the action that makes
feedback a draft training example).

Threads and messages are their owner's alone, superusers included: the lists and change views
show a user their own. Feedback is reviewed by those who make training examples; its question
and answer are shown only where the reviewer may read them (assistant.threads.answer_hidden_from),
and only those become draft training examples."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from assistant.admin.ask import ask_view
from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread
from assistant.threads import (
    answer_hidden_from,
    feedback_visible_to,
    messages_visible_to,
    question_for,
    threads_visible_to,
)

# Who is looking, for the list and change columns (they are called with the object alone).
_viewer: ContextVar[Any] = ContextVar("feedback_viewer", default=None)


class MessageInline(admin.TabularInline):
    model = AssistantMessage
    fields = readonly_fields = ("role", "kind", "content", "planner", "created_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AssistantThread)
class AssistantThreadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "touched_patient_data", "updated_at", "open_in_ask"]
    list_filter = ["touched_patient_data"]
    search_fields = ["title"]
    readonly_fields = ["user", "touched_patient_data", "created_at", "updated_at"]
    inlines = [MessageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return threads_visible_to(request.user)

    @admin.display(description="Ask OptiQ")
    def open_in_ask(self, thread: AssistantThread) -> str:
        return format_html('<a href="{}?thread={}">open</a>', reverse("admin:assistant_ask"), thread.pk)

    def get_urls(self) -> list[Any]:
        return [path("ask/", self.admin_site.admin_view(ask_view), name="assistant_ask"), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        # A conversation starts with a question, which is asked on the Ask OptiQ page.
        return HttpResponseRedirect(reverse("admin:assistant_ask"))


@admin.register(AssistantMessage)
class AssistantMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "role", "kind", "planner", "created_at"]
    list_filter = ["role", "kind", "planner"]
    readonly_fields = [
        "thread",
        "role",
        "kind",
        "content",
        "sources",
        "tool_calls",
        "touched_patient_data",
        "model_name",
        "planner",
        "usage",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return messages_visible_to(request.user).select_related("thread")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AssistantFeedback)
class AssistantFeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "rating", "question", "answer", "has_correction", "user", "training_example", "created_at"]
    list_filter = ["rating"]
    readonly_fields = (
        "question",
        "answer",
        "rating",
        "corrected_answer_shown",
        "comment_shown",
        "user",
        "training_example",
        "created_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return feedback_visible_to(request.user)

    def _rendered_as(self, request: HttpRequest, view: Any, *args: Any) -> Any:
        token = _viewer.set(request.user)
        try:
            response = view(request, *args)
            if hasattr(response, "render"):
                response.render()  # while the viewer is known
            return response
        finally:
            _viewer.reset(token)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        return self._rendered_as(request, super().changelist_view, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        return self._rendered_as(request, super().change_view, object_id, form_url, extra_context)

    def _hidden(self, feedback: AssistantFeedback) -> str:
        viewer = _viewer.get()
        return "no viewer" if viewer is None else answer_hidden_from(feedback.message, viewer)

    def _shown(self, feedback: AssistantFeedback, text: str) -> str:
        hidden = self._hidden(feedback)
        return f"(hidden: {hidden})" if hidden else text

    @admin.display(description="question")
    def question(self, feedback: AssistantFeedback) -> str:
        question = question_for(feedback.message)
        return self._shown(feedback, question.content if question else "")

    @admin.display(description="answer")
    def answer(self, feedback: AssistantFeedback) -> str:
        return self._shown(feedback, feedback.message.content)

    @admin.display(description="corrected answer")
    def corrected_answer_shown(self, feedback: AssistantFeedback) -> str:
        return self._shown(feedback, feedback.corrected_answer)

    @admin.display(description="comment")
    def comment_shown(self, feedback: AssistantFeedback) -> str:
        return self._shown(feedback, feedback.comment)

    @admin.display(boolean=True, description="corrected")
    def has_correction(self, feedback: AssistantFeedback) -> bool:
        return bool(feedback.corrected_answer.strip())

    @admin.display(description="training example")
    def training_example(self, feedback: AssistantFeedback) -> str:
        if not feedback.training_example_id:
            return "-"
        url = reverse("admin:training_jobs_trainingexample_change", args=[feedback.training_example_id])
        return format_html('<a href="{}">draft {}</a>', url, feedback.training_example_id)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Everyone may see their own feedback; the queryset decides whose.
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
