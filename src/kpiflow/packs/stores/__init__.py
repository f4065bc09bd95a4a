"""The stores pack: store uptime and downtime within business hours (seed 002)."""
