"""Install pgvector's `vector` extension, or stop with a message that says how to get it."""

from django.db import migrations


def create_vector_extension(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cursor.fetchone() is None:
            raise RuntimeError(
                "PostgreSQL at this DATABASE_URL has no pgvector extension ('vector'). "
                "Install pgvector on the server (e.g. the postgresql-NN-pgvector package or the "
                "pgvector/pgvector Docker image), or unset DATABASE_URL to use the embedded "
                "PostgreSQL, then run `python manage.py migrate` again."
            )
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunPython(create_vector_extension, migrations.RunPython.noop)]
