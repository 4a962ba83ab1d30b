"""pytest plugins loaded into SQLAlchemy's test run with ``-p`` (this folder goes on ``PYTHONPATH``)."""
