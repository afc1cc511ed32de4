"""Environment and membership endpoints; the rules live in serializers and scoping."""

from __future__ import annotations

from django.db import transaction
from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import PermissionDenied

from liftlab.accounts.models import (
    ENVIRONMENT_KEY_PATTERN,
    USERNAME_PATTERN,
    Environment,
    Membership,
    Role,
)
from liftlab.accounts.serializers import (
    EnvironmentSerializer,
    MembershipSerializer,
    ensure_another_admin,
)
from liftlab.api.audited import AuditedMixin
from liftlab.api.scoping import EnvironmentAccess, EnvironmentScopedMixin
from liftlab.audit.models import Action, ObjectType


class EnvironmentViewSet(
    AuditedMixin,
    EnvironmentScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Environments the caller is a member of; only superusers create them."""

    serializer_class = EnvironmentSerializer
    lookup_field = "key"
    lookup_value_regex = ENVIRONMENT_KEY_PATTERN
    environment_url_kwarg = "key"
    audit_object_type = ObjectType.ENVIRONMENT
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action in ("list", "create") or self.environment_url_kwarg not in self.kwargs:
            return [permissions.IsAuthenticated()]
        return [EnvironmentAccess()]

    def get_queryset(self):
        """Member environments only, superusers included (they reach any other by its key)."""
        return Environment.objects.filter(memberships__user=self.request.user)

    def get_object(self) -> Environment:
        return self.environment

    def audit_environment(self, obj: Environment | Membership) -> Environment:
        return obj if isinstance(obj, Environment) else obj.environment

    def perform_create(self, serializer: EnvironmentSerializer) -> None:
        if not self.request.user.is_superuser:
            raise PermissionDenied("Only superusers may create environments.")
        with transaction.atomic():
            environment = serializer.save()
            membership = Membership.objects.create(
                environment=environment, user=self.request.user, role=Role.ADMIN
            )
            self.audit(Action.CREATE, environment, None, self.snapshot(environment))
            member = dict(MembershipSerializer(membership).data)
            self.audit(Action.CREATE, membership, None, member, object_type=ObjectType.MEMBER)


class MembershipViewSet(
    AuditedMixin,
    EnvironmentScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Who belongs to an environment, by username; admins manage, members read."""

    serializer_class = MembershipSerializer
    permission_classes = [EnvironmentAccess]
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = USERNAME_PATTERN
    audit_object_type = ObjectType.MEMBER
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Membership.objects.filter(environment=self.environment).select_related("user")

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "environment": self.environment}

    def save_kwargs(self) -> dict:
        return {"environment": self.environment}

    def delete_instance(self, instance: Membership) -> None:
        ensure_another_admin(instance)
        instance.delete()
