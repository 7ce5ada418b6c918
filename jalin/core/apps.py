from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jalin.core"
    label = "core"
    verbose_name = "Core"
