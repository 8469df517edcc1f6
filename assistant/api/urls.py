"""/api/v1/assistant/: threads, messages, feedback, knowledge documents and search."""

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import DefaultRouter

from assistant.api.views import (
    FeedbackView,
    KnowledgeDocumentViewSet,
    KnowledgeSearchView,
    MessageListView,
    ThreadViewSet,
)

router = DefaultRouter()
router.register("threads", ThreadViewSet, basename="assistant-thread")
router.register("knowledge/documents", KnowledgeDocumentViewSet, basename="knowledge-document")

urlpatterns: list[URLPattern | URLResolver] = [
    path("threads/<int:thread_id>/messages/", MessageListView.as_view(), name="assistant-messages"),
    path(
        "threads/<int:thread_id>/messages/<int:message_id>/feedback/",
        FeedbackView.as_view(),
        name="assistant-feedback",
    ),
    path("knowledge/search/", KnowledgeSearchView.as_view(), name="knowledge-search"),
    path("", include(router.urls)),
]
