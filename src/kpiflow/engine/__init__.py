"""Engines run the engine-neutral KPI SQL over per-file partial state."""
