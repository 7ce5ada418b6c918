from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "jalin.crm"
    label = "crm"
    verbose_name = "CRM"

    def ready(self):
        from jalin.core.consumers import register_consumer

        from .consumers import HUB_BUYER_LINKS, RELATIONSHIP_EVENT_TYPES, record_hub_buyer_link

        register_consumer(HUB_BUYER_LINKS, record_hub_buyer_link,
                          event_types=RELATIONSHIP_EVENT_TYPES)

        from jalin.core.housekeeping import register_housekeeping

        from .activities.services import send_due_reminders

        register_housekeeping("crm.activity_reminders", send_due_reminders, every_seconds=60)

        from .housekeeping import imports_expire, private_files_sweep

        register_housekeeping("crm.imports_expire", imports_expire, every_seconds=3600)
        register_housekeeping("crm.private_files_sweep", private_files_sweep,
                              every_seconds=6 * 3600)

        from .timeline.consumer import TIMELINE_CONSUMER, record_timeline

        # Every event type: the handler picks crm.*, hub.* and service.* ones by prefix.
        register_consumer(TIMELINE_CONSUMER, record_timeline, event_types=None)
