"""The SQL storage core shared by the SQLite and PostgreSQL dialects."""
