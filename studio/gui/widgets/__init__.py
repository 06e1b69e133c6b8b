"""Reusable widgets: timeline, viewer, pose overlay, transport."""
