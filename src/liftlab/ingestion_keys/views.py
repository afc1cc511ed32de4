"""``environments/{key}/ingestion-keys/``: admins create, list, rotate and revoke; nobody else
sees them (viewers 403, non-members 404 as for every environment resource)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from liftlab.accounts.models import Role
from liftlab.api.exceptions import Conflict
from liftlab.api.scoping import EnvironmentAccess, EnvironmentScopedMixin
from liftlab.ingestion_keys import services
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.ingestion_keys.serializers import (
    IngestionKeySerializer,
    IssuedIngestionKeySerializer,
    issued,
)

ADMINS_ONLY = "Only the environment's admins may see or manage its ingestion keys."
FORBIDDEN = OpenApiResponse(description="Not an admin of the environment (viewers included).")
REVOKED = OpenApiResponse(description="The key is revoked: it cannot be rotated.")


class AdminsOnly(EnvironmentAccess):
    """Members' usual checks (401, then 404 for non-members), then admins only, reads too."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if view.role != Role.ADMIN:
            raise PermissionDenied(ADMINS_ONLY)
        return True


@extend_schema_view(
    list=extend_schema(
        summary="The environment's ingestion keys (prefixes only)",
        responses={200: IngestionKeySerializer(many=True), 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="An ingestion key (its prefix only)",
        responses={200: IngestionKeySerializer, 403: FORBIDDEN},
    ),
    create=extend_schema(
        summary="Create an ingestion key; its secret is in this answer only",
        request=IngestionKeySerializer,
        responses={201: IssuedIngestionKeySerializer, 403: FORBIDDEN},
    ),
    destroy=extend_schema(
        summary="Revoke an ingestion key (it stays listed, revoked)",
        responses={204: None, 403: FORBIDDEN},
    ),
)
class IngestionKeyViewSet(
    EnvironmentScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = IngestionKeySerializer
    permission_classes = [AdminsOnly]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return IngestionKey.objects.filter(environment=self.environment).select_related(
            "environment"
        )

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "environment": self.environment}

    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = services.create_key(
            self.environment, serializer.validated_data["name"], request.user
        )
        return Response(issued(key, secret), status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs) -> Response:
        services.revoke_key(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Revoke an ingestion key: its next batch is refused with 401",
        request=None,
        responses={200: IngestionKeySerializer, 403: FORBIDDEN},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs) -> Response:
        key = services.revoke_key(self.get_object(), request.user)
        return Response(IngestionKeySerializer(key).data)

    @extend_schema(
        summary="Give an ingestion key a new secret; the old one stops working at once",
        request=None,
        responses={200: IssuedIngestionKeySerializer, 403: FORBIDDEN, 409: REVOKED},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, *args, **kwargs) -> Response:
        key = self.get_object()
        try:
            secret = services.rotate_key(key, request.user)
        except services.KeyRevoked as exc:
            raise Conflict(str(exc)) from exc
        return Response(issued(key, secret))
