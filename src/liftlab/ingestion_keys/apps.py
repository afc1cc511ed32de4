from django.apps import AppConfig


class IngestionKeysConfig(AppConfig):
    name = "liftlab.ingestion_keys"
    label = "ingestion_keys"
    verbose_name = "Ingestion keys"
