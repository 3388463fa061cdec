"""The E-Akte alone in a process of its own (for the fault test, which SIGKILLs it): its
settings come as JSON in RATHAUS_TEST_SETTINGS; it prints "bereit" once it runs."""

from __future__ import annotations

import asyncio
import os
import signal

from rathaus.eakte.bootstrap import bootstrap
from rathaus.platform.kernel import Kernel, Settings


async def main() -> None:
    settings = Settings.model_validate_json(os.environ["RATHAUS_TEST_SETTINGS"])
    kernel = Kernel("eakte", settings)
    app = bootstrap(kernel)
    await kernel.start(app, seed=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stopping.set)
    print("bereit", flush=True)
    try:
        await stopping.wait()
    finally:
        await kernel.stop(app)


if __name__ == "__main__":
    asyncio.run(main())
