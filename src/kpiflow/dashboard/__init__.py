"""The web dashboard: a page shell whose navigation lists every pack's pages."""
