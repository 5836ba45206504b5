"""Settings for benchmarks: the project's own settings, with bench/bench_urls.py as the URLconf.

Every value still comes from the environment as in partnerwell/settings.py; the
only change is one extra URL, /bench-bare/, a bare Django view to compare pages
with on the same server (see bench/dashboard_bench.py). Never used outside bench/.
"""

from partnerwell.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
