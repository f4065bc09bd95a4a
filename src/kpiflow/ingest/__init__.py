"""Ingest: discover files, record them in the ledger, read and validate rows, quarantine."""
