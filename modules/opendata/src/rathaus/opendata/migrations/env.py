from alembic import context

from rathaus.platform.kernel.db import run_env

run_env(context)
