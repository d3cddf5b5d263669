"""Storage plumbing shared by the stores: SQLite transactions and files, PostgreSQL connections."""
