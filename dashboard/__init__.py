"""App support without ML: figures, cached loaders, page furniture."""
