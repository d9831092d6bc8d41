"""Storage: the in-memory store and the SQL stores (SQLite, PostgreSQL) behind one port."""
