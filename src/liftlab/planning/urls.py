"""Include under ``api/v1/``: ``path("api/v1/", include("liftlab.planning.urls"))``."""

from django.urls import re_path

from liftlab.api.urls import ENVIRONMENT
from liftlab.planning.views import PowerView

urlpatterns = [re_path(rf"^{ENVIRONMENT}/power/$", PowerView.as_view(), name="power")]
