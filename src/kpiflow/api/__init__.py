"""The REST API: FastAPI app built from the core and every pack's router."""
