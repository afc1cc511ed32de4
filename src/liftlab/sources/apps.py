from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "liftlab.sources"
    label = "sources"
