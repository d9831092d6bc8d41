"""Notifications: who is told what, the transactional outbox, rendering and dispatch."""
