"""The E-Akte alone in a process of its own (for the fault test, which SIGKILLs it): its
settings come as JSON in RATHAUS_TEST_SETTINGS; it prints "bereit" once it runs."""

from __future__ import annotations

import asyncio
import os

from rathaus.eakte.bootstrap import bootstrap
from rathaus.platform.kernel import Kernel, Settings


async def main() -> None:
    settings = Settings.model_validate_json(os.environ["RATHAUS_TEST_SETTINGS"])
    kernel = Kernel("eakte", settings)
    app = bootstrap(kernel)
    await kernel.start(app, seed=True)
    print("bereit", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await kernel.stop(app)


if __name__ == "__main__":
    asyncio.run(main())
