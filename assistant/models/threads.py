"""Assistant conversations: threads of questions and answers, with their sources and feedback."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["AssistantFeedback", "AssistantMessage", "AssistantThread"]


class AssistantThread(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_threads")
    title = models.CharField(max_length=200, blank=True)
    # Set once any message in the thread touched patient data: the thread is then shown only
    # to users who may see patients.
    touched_patient_data = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"Thread {self.pk}"


class AssistantMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        DATA = "data", "Answer from practice data"
        KNOWLEDGE = "knowledge", "Answer from the knowledge base"
        REFUSAL = "refusal", "Refusal"
        CLARIFICATION = "clarification", "Question back"
        ERROR = "error", "Error"

    class Status(models.TextChoices):
        COMPLETE = "complete", "Complete"
        STOPPED = "stopped", "Stopped by the user"
        INCOMPLETE = "incomplete", "Cut short by a failure"

    thread = models.ForeignKey(AssistantThread, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=20, choices=Role.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.QUESTION)
    # An answer the user stopped (the client went away) or a failure cut short keeps what was
    # written, marked as such.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETE)
    content = models.TextField()
    sources = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    touched_patient_data = models.BooleanField(default=False)
    model_name = models.CharField(max_length=200, blank=True)
    planner = models.CharField(
        max_length=50, blank=True, help_text="What read the question into its tool call: parser or model."
    )
    usage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


class AssistantFeedback(models.Model):
    class Rating(models.IntegerChoices):
        BAD = -1, "Unhelpful"
        GOOD = 1, "Helpful"

    message = models.ForeignKey(AssistantMessage, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=Rating.choices)
    corrected_answer = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    training_example_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="feedback_one_per_user_message")]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on message {self.message_id}"
