"""Pack `network`: top services by traffic and top cells by unique users, per 5 min and hour."""
