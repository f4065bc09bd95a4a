"""Built-in packs; each plugs in through the `kpiflow.packs` entry points like any outsider."""
