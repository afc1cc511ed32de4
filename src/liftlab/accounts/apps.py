from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "liftlab.accounts"
    label = "accounts"
    verbose_name = "Environments and members"
