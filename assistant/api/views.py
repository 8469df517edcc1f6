"""Threads, messages (plain or streamed as server-sent events), feedback and knowledge documents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import filters, mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from assistant.api.serializers import (
    FeedbackInputSerializer,
    FeedbackSerializer,
    KnowledgeDocumentInputSerializer,
    KnowledgeDocumentSerializer,
    KnowledgeDocumentTextInputSerializer,
    KnowledgeSearchResultSerializer,
    KnowledgeSearchSerializer,
    MessageSerializer,
    QuestionSerializer,
    ThreadDetailSerializer,
    ThreadSerializer,
)
from assistant.api.sse import CONTENT_TYPE, event_stream_response, sse_event
from assistant.chat.drafts import AnswerEvent
from assistant.chat.service import answer_events
from assistant.knowledge.extraction import extract_text
from assistant.knowledge.retrieval import knowledge_search
from assistant.knowledge.services import knowledge_document_ingest
from assistant.llm.errors import Unavailable
from assistant.models import AssistantMessage, AssistantThread, KnowledgeDocument
from assistant.openai_api.schema import SERVER_SENT_EVENT
from assistant.threads import feedback_record, threads_visible_to
from optiq_site.async_database import database_sync_to_async
from optiq_site.upload_limits import check_upload_size


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class ThreadViewSet(viewsets.ModelViewSet):
    """The user's own threads (`?search=` matches titles). Threads that touched patient data
    are hidden from users who may no longer see patients."""

    # The schema reads the id's type from here; the rows come from get_queryset.
    queryset = AssistantThread.objects.none()
    permission_classes = [permissions.IsAuthenticated]
    # JSON only: a form body that is not a form (or has no known field) would be an empty, accepted edit.
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list[Any] = [filters.SearchFilter]
    search_fields = ["title"]

    def get_queryset(self) -> QuerySet[AssistantThread]:
        return threads_visible_to(self.request.user)

    def get_serializer_class(self) -> type:
        return ThreadDetailSerializer if self.action == "retrieve" else ThreadSerializer

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.save(user=self.request.user)


class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` through content negotiation; the events themselves are
    written by assistant.api.sse. Anything rendered through it (an error) is JSON."""

    media_type = CONTENT_TYPE
    format = "sse"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data, cls=DjangoJSONEncoder).encode()


class AsyncAPIView(APIView):
    """An APIView whose handlers are coroutines: DRF's authentication, permissions, throttling,
    exception handling and schema, with the handler awaited in the event loop (so that it can
    return a response that streams from an async generator)."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            await database_sync_to_async(self.initial)(drf_request, *args, **kwargs)
            method = (drf_request.method or "").lower()
            handler = getattr(self, method, self.http_method_not_allowed)
            if method not in self.http_method_names:
                handler = self.http_method_not_allowed
            if asyncio.iscoroutinefunction(handler):
                response = await handler(drf_request, *args, **kwargs)
            else:
                response = await database_sync_to_async(handler)(drf_request, *args, **kwargs)
        except Exception as exc:
            response = await database_sync_to_async(self.handle_exception)(exc)
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and isinstance(getattr(drf_request, "accepted_renderer", None), EventStreamRenderer)
        ):
            # An error is a JSON body, and its Content-Type says so, whatever the client asked for.
            drf_request.accepted_renderer, drf_request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return self.response


UnavailableSerializer = inline_serializer(
    "AssistantUnavailable", fields={"detail": serializers.CharField(), "code": serializers.CharField()}
)


class MessageListView(AsyncAPIView):
    """GET: the thread's messages. POST a question: the answer, as JSON or as server-sent events
    (`stream: true` or `Accept: text/event-stream`): `sources`, then `token` events (`{"text"}`),
    then `done` with the stored message; a failure mid-answer sends `error` (`{"message", "code"}`)
    before `done`. An answer the client stops (it disconnects) is stored with what was written,
    `status: stopped`; one cut short by a failure, `status: incomplete`. When the model that would
    answer cannot be reached before the answer starts: 503 with Retry-After, nothing stored."""

    permission_classes = [permissions.IsAuthenticated]
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, EventStreamRenderer]  # type: ignore[list-item]

    def _thread(self, request: Request, thread_id: int) -> AssistantThread:
        return get_object_or_404(threads_visible_to(request.user), pk=thread_id)

    def _messages(self, request: Request, thread_id: int) -> Any:
        thread = self._thread(request, thread_id)
        return MessageSerializer(thread.messages.all(), many=True).data

    def get_renderers(self) -> list[BaseRenderer]:
        # Only a question streams: the message list is JSON whatever `format` or Accept asks.
        request = getattr(self, "request", None)
        if request is not None and request.method == "GET":
            return [renderer() for renderer in api_settings.DEFAULT_RENDERER_CLASSES]  # type: ignore[operator]
        return super().get_renderers()

    @extend_schema(responses={(200, "application/json"): MessageSerializer(many=True)})
    async def get(self, request: Request, thread_id: int) -> Response:
        return Response(await database_sync_to_async(self._messages)(request, thread_id))

    @extend_schema(
        request=QuestionSerializer,
        responses={
            (201, "application/json"): MessageSerializer,
            (200, CONTENT_TYPE): OpenApiResponse(
                response=SERVER_SENT_EVENT,
                description="With `stream: true` (or `Accept: text/event-stream`): server-sent events "
                "`sources` (the sources), `token` (`{text}`), `error` (`{message, code}`) and `done` "
                "(the stored message, as in the JSON answer).",
            ),
            (503, "application/json"): OpenApiResponse(
                response=UnavailableSerializer,
                description="No inference worker, or the broker is down: try again after Retry-After seconds.",
            ),
        },
    )
    async def post(self, request: Request, thread_id: int) -> Response | StreamingHttpResponse:
        thread = await database_sync_to_async(self._thread)(request, thread_id)
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
        try:
            first = await anext(events)
        except Unavailable as exc:
            return Response(
                {"detail": str(exc), "code": exc.code},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(exc.retry_after)},
            )
        # `?format=sse` picks the event-stream renderer too: such a client is answered with events.
        wants_stream = (
            data["stream"]
            or CONTENT_TYPE in request.META.get("HTTP_ACCEPT", "")
            or isinstance(request.accepted_renderer, EventStreamRenderer)
        )
        if wants_stream:
            return event_stream_response(_answer_stream(first, events))
        message = first.data if first.kind == "done" else None
        async for event in events:
            if event.kind == "done":
                message = event.data
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


async def _answer_stream(first: AnswerEvent, events: AsyncIterator[AnswerEvent]) -> AsyncIterator[bytes]:
    try:
        event: AnswerEvent | None = first
        while event is not None:
            if event.kind == "done":
                payload: Any = MessageSerializer(event.data).data
            elif event.kind == "token":
                payload = {"text": event.data}
            else:
                payload = event.data
            yield sse_event(payload, event=event.kind)
            event = await anext(events, None)
    finally:
        await events.aclose()  # type: ignore[attr-defined]  # a client that went away stops the answer


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

    @extend_schema(
        request={
            "application/json": KnowledgeDocumentTextInputSerializer,
            "application/x-www-form-urlencoded": KnowledgeDocumentTextInputSerializer,
            "multipart/form-data": KnowledgeDocumentInputSerializer,
        },
        responses={200: KnowledgeDocumentSerializer, 201: KnowledgeDocumentSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = KnowledgeDocumentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data.get("file")
        try:
            if upload:
                check_upload_size(upload=upload, field="file")
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
                replace_existing=request.user.has_perm("assistant.change_knowledgedocument"),
            )
        return Response(
            KnowledgeDocumentSerializer(result.document).data,
            status=status.HTTP_201_CREATED if result.changed else status.HTTP_200_OK,
        )


class KnowledgeSearchView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[KnowledgeSearchSerializer], responses=KnowledgeSearchResultSerializer(many=True))
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
