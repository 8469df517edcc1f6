"""REST API of the model registry: list, register, activate, roll back (/api/v1/models/)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.models import ModelVersion
from assistant.registry import selectors, services


class CanManageModelVersions(BasePermission):
    """Reading the registry needs a login; changing it needs assistant.manage_model_versions."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(request.user and request.user.has_perm("assistant.manage_model_versions"))


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    base: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # Blank for local models, so not declared as a URI.
    base_url = serializers.CharField(
        read_only=True, help_text="External backend: the server's OpenAI base URL (…/v1); blank for local models."
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "role",
            "backend",
            "base_url",
            "path",
            "size_bytes",
            "sha256",
            "has_chat_template",
            "chat_format",
            "lora_path",
            "lora_sha256",
            "lora_scale",
            "base",
            "n_ctx",
            "n_gpu_layers",
            "n_threads",
            "status",
            "evaluation",
            "created_by",
            "created_at",
            "activated_at",
        ]
        read_only_fields = fields


class ModelVersionRegisterSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    path = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=ModelVersion.Role.choices, default="chat")
    chat_format = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    lora_path = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lora_scale = serializers.FloatField(default=1.0)
    base = serializers.SlugRelatedField(
        slug_field="name", queryset=ModelVersion.objects.all(), required=False, allow_null=True, default=None
    )
    backend = serializers.ChoiceField(choices=ModelVersion.Backend.choices, default="local")
    base_url = serializers.URLField(required=False, allow_blank=True, default="")
    n_ctx = serializers.IntegerField(default=2048, min_value=64, max_value=1_048_576)
    n_gpu_layers = serializers.IntegerField(default=0, min_value=-1)
    n_threads = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=512)
    activate = serializers.BooleanField(default=False)


def _service_call(function: Any, **kwargs: Any) -> ModelVersion:
    try:
        return function(**kwargs)
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        ) from exc


class ModelVersionListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, CanManageModelVersions]
    serializer_class = ModelVersionOutputSerializer
    filterset_fields = ["role", "status", "backend"]
    search_fields = ["name"]
    ordering_fields = ["created_at", "name"]

    def get_queryset(self) -> Any:
        return selectors.model_version_list()

    @extend_schema(request=ModelVersionRegisterSerializer, responses={201: ModelVersionOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = ModelVersionRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data["path"] = data["path"] or None
        data["chat_format"] = data["chat_format"] or None
        data["lora_path"] = data["lora_path"] or None
        data["base_url"] = data["base_url"] or None
        version = _service_call(
            services.model_version_register,
            created_by=request.user,
            confine_to=services.model_path_roots(),
            **data,
        )
        return Response(ModelVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class ModelVersionDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated, CanManageModelVersions]
    serializer_class = ModelVersionOutputSerializer

    def get_queryset(self) -> Any:
        return selectors.model_version_list()


class ModelVersionActivateView(APIView):
    permission_classes = [IsAuthenticated, CanManageModelVersions]

    @extend_schema(request=None, responses=ModelVersionOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        version = generics.get_object_or_404(ModelVersion, pk=pk)
        activated = _service_call(services.model_version_activate, model_version=version, user=request.user)
        return Response(ModelVersionOutputSerializer(activated).data)


class RollbackSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ModelVersion.Role.choices, default="chat")


class ModelVersionRollbackView(APIView):
    permission_classes = [IsAuthenticated, CanManageModelVersions]

    @extend_schema(request=RollbackSerializer, responses={200: ModelVersionOutputSerializer, 204: None})
    def post(self, request: Request) -> Response:
        payload = RollbackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = _service_call(services.model_version_rollback, role=payload.validated_data["role"], user=request.user)
        if version is None:  # the first router rolled back: none is active, the parser reads questions
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ModelVersionOutputSerializer(version).data)
