"""Threads, messages (plain or streamed as server-sent events), feedback and knowledge documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, permissions, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from assistant.api.serializers import (
    FeedbackInputSerializer,
    FeedbackSerializer,
    KnowledgeDocumentInputSerializer,
    KnowledgeDocumentSerializer,
    KnowledgeSearchSerializer,
    MessageSerializer,
    QuestionSerializer,
    ThreadDetailSerializer,
    ThreadSerializer,
)
from assistant.chat.service import answer_events
from assistant.knowledge.extraction import extract_text
from assistant.knowledge.retrieval import knowledge_search
from assistant.knowledge.services import knowledge_document_ingest
from assistant.models import AssistantMessage, AssistantThread, KnowledgeDocument
from assistant.threads import feedback_record, threads_visible_to


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class ThreadViewSet(viewsets.ModelViewSet):
    """The user's own threads (`?search=` matches titles). Threads that touched patient data
    are hidden from users who may no longer see patients."""

    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list[Any] = [filters.SearchFilter]
    search_fields = ["title"]

    def get_queryset(self) -> QuerySet[AssistantThread]:
        return threads_visible_to(self.request.user)

    def get_serializer_class(self) -> type:
        return ThreadDetailSerializer if self.action == "retrieve" else ThreadSerializer

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.save(user=self.request.user)


class MessageListView(APIView):
    """GET: the thread's messages. POST a question: the answer, as JSON or as server-sent events
    (`stream: true` or `Accept: text/event-stream`): `sources`, then `token` events, then `done`
    with the stored message."""

    permission_classes = [permissions.IsAuthenticated]

    def _thread(self, request: Request, thread_id: int) -> AssistantThread:
        return get_object_or_404(threads_visible_to(request.user), pk=thread_id)

    @extend_schema(responses=MessageSerializer(many=True))
    def get(self, request: Request, thread_id: int) -> Response:
        thread = self._thread(request, thread_id)
        return Response(MessageSerializer(thread.messages.all(), many=True).data)

    @extend_schema(request=QuestionSerializer, responses={201: MessageSerializer})
    def post(self, request: Request, thread_id: int) -> Response | StreamingHttpResponse:
        thread = self._thread(request, thread_id)
        serializer = QuestionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        events = answer_events(
            thread=thread,
            user=request.user,
            question=data["content"],
            ip=_client_ip(request),
            max_tokens=data["max_tokens"],
        )
        wants_stream = data["stream"] or "text/event-stream" in request.META.get("HTTP_ACCEPT", "")
        if wants_stream:
            response = StreamingHttpResponse(_sse(events), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        message = None
        for event in events:
            if event.kind == "done":
                message = event.data
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


def _sse(events: Iterator[Any]) -> Iterator[bytes]:
    for event in events:
        if event.kind == "done":
            payload: Any = MessageSerializer(event.data).data
        elif event.kind == "token":
            payload = {"text": event.data}
        else:
            payload = event.data
        yield f"event: {event.kind}\ndata: {json.dumps(payload, default=str)}\n\n".encode()


class FeedbackView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=FeedbackInputSerializer, responses={201: FeedbackSerializer})
    def post(self, request: Request, thread_id: int, message_id: int) -> Response:
        thread = get_object_or_404(threads_visible_to(request.user), pk=thread_id)
        message = get_object_or_404(thread.messages.filter(role=AssistantMessage.Role.ASSISTANT), pk=message_id)
        serializer = FeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = feedback_record(message=message, user=request.user, **serializer.validated_data)
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


class KnowledgeDocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Knowledge documents: upload .md/.txt/.pdf (or send text); embedding runs in a Celery task
    whose progress shows on the document (`status`, `progress`)."""

    queryset = KnowledgeDocument.objects.all()
    serializer_class = KnowledgeDocumentSerializer
    permission_classes = [permissions.DjangoModelPermissions]
    filterset_fields = ["status", "source_type", "category"]
    search_fields = ["title", "slug"]

    @extend_schema(request=KnowledgeDocumentInputSerializer, responses={201: KnowledgeDocumentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = KnowledgeDocumentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data.get("file")
        try:
            if upload:
                source_type, content = extract_text(filename=upload.name, data=upload.read())
                slug = data["slug"] or upload.name.rsplit(".", 1)[0]
            else:
                source_type, content, slug = data["source_type"], data["content"], data["slug"]
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        with transaction.atomic():
            result = knowledge_document_ingest(
                content=content,
                slug=slug,
                title=data["title"],
                category=data["category"],
                source_type=source_type,
                source_name=upload.name if upload else "",
                created_by=request.user,
                embed="task",
            )
        return Response(
            KnowledgeDocumentSerializer(result.document).data,
            status=status.HTTP_201_CREATED if result.changed else status.HTTP_200_OK,
        )


class KnowledgeSearchView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[KnowledgeSearchSerializer])
    def get(self, request: Request) -> Response:
        serializer = KnowledgeSearchSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        chunks = knowledge_search(query=serializer.validated_data["q"], limit=serializer.validated_data["limit"])
        return Response(
            [
                {
                    "kind": "knowledge_chunk",
                    "id": c.chunk_id,
                    "title": c.title,
                    "document": c.slug,
                    "heading": c.heading,
                    "snippet": c.snippet(),
                    "score": c.score,
                }
                for c in chunks
            ]
        )
