"""The import runs as a background task (the database backend runs it in `jalin worker`)."""

from django.tasks import task

from . import services


@task()
def import_process(*, job_id):
    """Check (and for a real run, write) one import job. Arguments are ids only."""
    return services.import_process(job_id=job_id)
