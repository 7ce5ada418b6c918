from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "jalin.crm"
    label = "crm"
    verbose_name = "CRM"
