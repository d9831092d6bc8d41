"""The reference portal of aligner_core: ``python -m examples.portal --url sqlite:///lab.db``."""
