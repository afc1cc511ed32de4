from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "liftlab.web"
    label = "web"
    verbose_name = "liftlab web pages"
