from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jalin.api"
    label = "api"
    verbose_name = "JSON API"
