"""userbatch: register and update learning-platform user accounts in bulk from CSV files."""

__version__ = "0.1.0"
