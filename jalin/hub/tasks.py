"""Background tasks of the hub (the database backend runs them in `jalin worker`)."""

from django.tasks import task

from . import catalog_csv


@task()
def catalog_import_process(*, job_id):
    """Check (and for a real run, write) one catalog import job. Arguments are ids only."""
    return catalog_csv.import_process(job_id=job_id)
