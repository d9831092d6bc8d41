"""For portal test suites and third-party adapters, shipped with the package.

- ``contracts``: ``StorageContract`` (units of work, repositories, queries, outbox,
  optimistic concurrency, case numbering), joined with a ``make_storage`` fixture;
- ``contracts_files``: ``BlobStoreContract`` and ``FileScannerContract``;
- ``contracts_notify``: ``NotifierContract``;
- ``factories``: registrations, patients, plan summaries, a real arch STL, and
  ``set_up_lab`` (a network with an admin, a doctor, a planner and production);
- ``strategies``: hypothesis strategies for every model;
- ``smtp_server``: a recording SMTP server on loopback (and one that never answers).

The contract modules import pytest and hypothesis; import them from tests only.
"""
