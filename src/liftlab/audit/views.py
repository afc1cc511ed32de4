"""The environment's audit log, newest first, paginated."""

from rest_framework import mixins, viewsets

from liftlab.api.pagination import Pagination
from liftlab.api.scoping import EnvironmentAccess, EnvironmentScopedMixin
from liftlab.audit.models import AuditLogEntry
from liftlab.audit.serializers import AuditLogEntrySerializer


class AuditLogViewSet(EnvironmentScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditLogEntrySerializer
    permission_classes = [EnvironmentAccess]
    pagination_class = Pagination

    def get_queryset(self):
        return AuditLogEntry.objects.filter(environment=self.environment)
