"""The dock panels of the main window: reference, driving, render."""
