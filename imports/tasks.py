"""Background tasks of the imports: thin wrappers that load by id and call the services.

Their dotted paths are stored with every queued task: moving or renaming one needs a migration.
"""

from django_tasks import task

from imports import services


@task()
def check_import(import_id: int) -> str:
    """The dry run of an uploaded file."""
    return services.check_import(import_id=import_id).status


@task()
def run_import(import_id: int) -> str:
    """Import a checked file."""
    return services.run_import(import_id=import_id).status


@task()
def fetch_images(import_id: int) -> int:
    """Fetch the images an import's posts show from other hosts."""
    return services.fetch_images(import_id=import_id)
