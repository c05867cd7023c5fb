"""Runnable examples: ``python -m chainrule.examples.<name>``."""
