"""The REST API under /api/v1/: environments and everything scoped to one."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from liftlab.accounts.models import ENVIRONMENT_KEY_PATTERN
from liftlab.accounts.views import EnvironmentViewSet, MembershipViewSet
from liftlab.audit.views import AuditLogViewSet
from liftlab.experiments.views import ExperimentMetricViewSet, ExperimentViewSet, MetricViewSet
from liftlab.ingestion_keys.views import IngestionKeyViewSet

ENVIRONMENT = rf"environments/(?P<environment_key>{ENVIRONMENT_KEY_PATTERN})"
EXPERIMENT = ENVIRONMENT + r"/experiments/(?P<experiment_pk>\d+)"

router = SimpleRouter()
router.register("environments", EnvironmentViewSet, basename="environment")
router.register(ENVIRONMENT + "/members", MembershipViewSet, basename="member")
router.register(ENVIRONMENT + "/experiment-metrics", MetricViewSet, basename="metric")
router.register(ENVIRONMENT + "/experiments", ExperimentViewSet, basename="experiment")
router.register(ENVIRONMENT + "/audit-log", AuditLogViewSet, basename="audit-log")
router.register(ENVIRONMENT + "/ingestion-keys", IngestionKeyViewSet, basename="ingestion-key")
router.register(EXPERIMENT + "/metrics", ExperimentMetricViewSet, basename="experiment-metric")

urlpatterns = [path("", include(router.urls))]
