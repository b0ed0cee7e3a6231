"""sfdpo helpers: the logic behind the course notebooks (losses, collators, loops, judges)."""
