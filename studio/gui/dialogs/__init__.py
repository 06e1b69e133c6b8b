"""Dialogs: errors, export, crash recovery."""
