from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "liftlab.experiments"
    label = "experiments"
    verbose_name = "Metrics and experiments"
