"""Shared core: configuration loading, errors, console output, processes, files."""
