"""Contract suites every adapter passes (storage, blob stores and scanners, notifiers)."""
