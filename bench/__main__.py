"""`python -m bench` (what `make bench` runs); `python -m bench --tune` compares gunicorn
worker and thread counts instead. Options are environment variables: see bench/config.py
and docs/configuration.md; how to read the results: docs/speed.md."""

import os
import sys
import tempfile

import django

from . import config, stack


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as metrics_directory:
        os.environ.update(config.production_environment(metrics_directory))
        stack.fresh_database()
        django.setup()
        from . import run  # imports the models: only once Django is set up

        if "--tune" in sys.argv[1:]:
            run.tune()
        else:
            run.bench()


if __name__ == "__main__":
    main()
