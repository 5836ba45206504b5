"""gunicorn settings for partnerwell, used by `partnerwell serve` and by the README's
production command: `gunicorn -c python:partnerwell.gunicorn_conf partnerwell.wsgi`.

- The Server header says "partnerwell", not gunicorn and its version: gunicorn has
  no setting for it, and a WSGI middleware cannot remove a header gunicorn adds
  itself, so the name its responses use is replaced here.
- Access and error log lines have personal links redacted (partnerwell.logs).
"""

from __future__ import annotations

import gunicorn.http.wsgi  # type: ignore[import-untyped]
from gunicorn.config import Config  # type: ignore[import-untyped]
from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from partnerwell.logs import RedactSecrets

# Read by every Response gunicorn makes (gunicorn.http.wsgi.Response.version).
SERVER_NAME = "partnerwell"
gunicorn.http.wsgi.SERVER = SERVER_NAME


class RedactingLogger(Logger):
    """gunicorn's logger with personal links taken out of every line it writes."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())


logger_class = RedactingLogger
accesslog = "-"
# No runtime control socket (gunicornc): partnerwell does not use it, and every instance on
# a machine would otherwise share the one default path in the home folder.
control_socket_disable = True
