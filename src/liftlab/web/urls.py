"""Page URLs; included at the site root after the API's."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from liftlab.accounts.models import ENVIRONMENT_KEY_PATTERN
from liftlab.web import assets, keys, power, views

app_name = "web"

ENVIRONMENT = rf"^environments/(?P<key>{ENVIRONMENT_KEY_PATTERN})/"
EXPERIMENT = ENVIRONMENT + r"experiments/(?P<pk>\d+)/"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    path("", views.environment_list, name="environments"),
    re_path(
        r"^assets/(?P<digest>[0-9a-f]{1,64})/(?P<name>[a-z0-9.]+)$", assets.serve, name="asset"
    ),
    re_path(ENVIRONMENT + "$", views.experiment_list, name="experiments"),
    re_path(ENVIRONMENT + "metrics/$", views.metric_library, name="metrics"),
    re_path(ENVIRONMENT + "power/$", power.calculator, name="power"),
    re_path(ENVIRONMENT + "ingestion-keys/$", keys.create, name="ingestion-key-create"),
    re_path(
        ENVIRONMENT + r"ingestion-keys/(?P<pk>\d+)/(?P<action>[a-z]+)/$",
        keys.change,
        name="ingestion-key-action",
    ),
    re_path(ENVIRONMENT + "legacy-ingestion/$", keys.legacy_off, name="legacy-ingestion"),
    re_path(EXPERIMENT + "$", views.experiment_detail, name="experiment"),
    re_path(EXPERIMENT + "analysis/$", views.experiment_analysis, name="analysis"),
    re_path(EXPERIMENT + r"results\.csv$", views.results_csv, name="results-csv"),
    re_path(
        EXPERIMENT + r"results/(?P<stamp>\d{8}T\d{6}Z)/$",
        views.experiment_snapshot,
        name="snapshot",
    ),
    re_path(EXPERIMENT + r"(?P<action>[a-z]+)/$", views.experiment_action, name="action"),
]
