"""Adapters: one module per outside system. Optional drivers are imported only by their module."""
