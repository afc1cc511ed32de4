from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "liftlab.audit"
    label = "audit"
    verbose_name = "Audit log"
