from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
    is_superuser = serializers.BooleanField()


class MeView(APIView):
    """Who the request is authenticated as (session or API key) and their roles."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "groups": sorted(user.groups.values_list("name", flat=True)),  # type: ignore[union-attr]
            "is_superuser": user.is_superuser,
        }
        return Response(MeSerializer(data).data)
