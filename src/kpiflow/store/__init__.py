"""SQL store: engines from DATABASE_URL, core tables, upserts and migrations."""
