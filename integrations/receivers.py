def connect() -> None:
    """Listen to the lower apps' events for webhooks (filled in below)."""
