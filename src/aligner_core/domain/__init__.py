"""The domain model: attrs values and pure functions, no I/O, no clock reads, no globals."""
