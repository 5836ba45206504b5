"""A pytest plugin (loaded with -p) that sets test settings before Django starts.

pytest-django configures Django before any conftest.py is read, so these
environment defaults have to come from a plugin named on the command line.
"""

import os

# Tests run tasks at once unless a test asks for the database queue and its worker.
os.environ.setdefault("TASKS_BACKEND", "immediate")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests read static files from the source folders, not from a collectstatic run.
os.environ.setdefault("STATIC_MANIFEST", "false")
# Each test process is one process: its own in-memory cache is quick and cleared per test.
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("WEB_CONCURRENCY", "1")
