"""Demo records for this area (filled in by its owner)."""


def load() -> None:
    return None
