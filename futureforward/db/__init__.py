"""Django's PostgreSQL backend, waiting out a short database restart (see base.py)."""
