"""pytest --nbmake over the chapters: kernels inherit this process's environment, so waiting
OpenMP threads sleep instead of spinning (the policy of :mod:`stag.threads`), as under
``stag book``; a chapter stays at its pace when another job shares the cores."""

import os

from stag.threads import wait_env

for _name, _value in wait_env().items():
    os.environ.setdefault(_name, _value)
