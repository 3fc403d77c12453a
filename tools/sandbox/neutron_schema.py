"""Create Neutron's schema straight from its models, then stamp the alembic heads.

Neutron's alembic migrations contain MySQL-only statements (for example
``ALTER TABLE tags CONVERT TO CHARACTER SET utf8mb4`` in revision d553edeb540f)
and fail on PostgreSQL, so the sandbox builds the schema from the models that
``neutron.db.migration.models.head`` collects. Usage: neutron_schema.py DB_URL
(the caller runs ``neutron-db-manage stamp heads`` afterwards). Idempotent.
"""

import sys

import sqlalchemy as sa
from neutron.db.migration.models import head


def main():
    engine = sa.create_engine(sys.argv[1])
    metadata = head.get_metadata()
    with engine.begin() as conn:
        already = sa.inspect(conn).has_table("alembic_version")
        metadata.create_all(conn)
        print(
            f"neutron schema: {len(metadata.tables)} tables "
            f"({'already present' if already else 'created'})",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
