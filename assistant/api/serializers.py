"""Input and output serializers of the assistant's threads and knowledge API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread, KnowledgeDocument
from optiq_site.api_schema import SchemaRules


class SourceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["knowledge_chunk", "product", "tool_result", "patient"])
    id = serializers.JSONField()
    title = serializers.CharField()
    snippet = serializers.CharField()
    score = serializers.FloatField()
    # Present by kind: a knowledge chunk names its document (slug) and heading; a tool result
    # carries its structured query (`arguments`), what read the question (`planner`) and its
    # figures (`data`, rows under `data.rows` for tables and charts).
    document = serializers.CharField(required=False)
    heading = serializers.CharField(required=False, allow_blank=True)
    arguments = serializers.JSONField(required=False)
    planner = serializers.CharField(required=False)
    # DRF takes declared fields off the class, so `data` does not hide Serializer.data.
    data = serializers.JSONField(required=False)  # type: ignore[assignment]


class ToolCallSerializer(serializers.Serializer):
    name = serializers.CharField()
    arguments = serializers.DictField()
    error = serializers.CharField(required=False)


class MessageSerializer(serializers.ModelSerializer):
    sources = SourceSerializer(many=True, read_only=True)
    tool_calls = ToolCallSerializer(many=True, read_only=True)

    class Meta:
        model = AssistantMessage
        fields = [
            "id",
            "role",
            "kind",
            "status",
            "content",
            "sources",
            "tool_calls",
            "model_name",
            "planner",
            "created_at",
        ]
        read_only_fields = fields


class StringField(serializers.CharField):
    """Text that must arrive as a JSON string: DRF's CharField stores 3.3e16 as "3.3e+16"."""

    default_error_messages = {"not_a_string": "Give text (a JSON string)."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class ThreadSerializer(serializers.ModelSerializer):
    title = StringField(required=False, allow_blank=True, max_length=200)

    class Meta:
        model = AssistantThread
        fields = ["id", "title", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ThreadDetailSerializer(ThreadSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ThreadSerializer.Meta):
        fields = [*ThreadSerializer.Meta.fields, "messages"]


class QuestionSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=2000, trim_whitespace=True)
    stream = serializers.BooleanField(default=False)
    max_tokens = serializers.IntegerField(min_value=1, max_value=1024, default=160)


class FeedbackInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=AssistantFeedback.Rating.choices)
    corrected_answer = serializers.CharField(max_length=8000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssistantFeedback
        fields = ["id", "message", "rating", "corrected_answer", "comment", "training_example_id", "created_at"]
        read_only_fields = fields


class KnowledgeDocumentSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)

    class Meta:
        model = KnowledgeDocument
        fields = [
            "id",
            "slug",
            "title",
            "category",
            "source_type",
            "source_name",
            "status",
            "progress",
            "chunks_total",
            "chunks_done",
            "error",
            "created_at",
            "updated_at",
            "embedded_at",
        ]
        read_only_fields = fields


# Text sent as such needs a title or slug with a letter or digit in it, which its slug is made of
# (a markdown heading serves too, which the schema does not count on).
_TEXT_NAMED: dict = {
    "anyOf": [
        {"required": ["title"], "properties": {"title": {"pattern": "[A-Za-z0-9]"}}},
        {"required": ["slug"], "properties": {"slug": {"pattern": "[A-Za-z0-9]"}}},
    ]
}


class KnowledgeDocumentInputSerializer(SchemaRules, serializers.Serializer):
    """A file (multipart) or the text itself, not both."""

    schema_rules = {
        "oneOf": [
            {"required": ["file"], "not": {"required": ["content"]}},
            {"required": ["content"], "not": {"required": ["file"]}, **_TEXT_NAMED},
        ]
    }
    file = serializers.FileField(required=False)
    content = serializers.CharField(required=False, allow_blank=False, max_length=2_000_000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    slug = serializers.SlugField(required=False, allow_blank=True, max_length=200, default="")
    category = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    source_type = serializers.ChoiceField(choices=["markdown", "text"], required=False, default="markdown")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("content")):
            raise serializers.ValidationError({"file": "Send either a file or content, not both or neither."})
        if attrs.get("content") and not (attrs.get("title") or attrs.get("slug")) and attrs["source_type"] == "text":
            raise serializers.ValidationError({"title": "A plain-text document needs a title."})
        return attrs


class KnowledgeSearchSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=500)
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5)


class KnowledgeSearchResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["knowledge_chunk"])
    id = serializers.IntegerField()
    title = serializers.CharField()
    document = serializers.CharField(help_text="The document's slug.")
    heading = serializers.CharField(allow_blank=True)
    snippet = serializers.CharField(allow_blank=True)
    score = serializers.FloatField()


class KnowledgeDocumentTextInputSerializer(KnowledgeDocumentInputSerializer):
    """The text itself: what a JSON or form-encoded body can carry (a file needs multipart)."""

    schema_rules = {"required": ["content"], **_TEXT_NAMED}
    file = None  # type: ignore[assignment]
