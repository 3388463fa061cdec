"""A bare Litestar endpoint for comparison: it decodes the same JSON and answers 201,
served by uvicorn with the same settings as the platform, and stores nothing."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post


@post("/bare", status_code=201)
async def bare(data: dict[str, Any]) -> dict[str, str]:
    return {"vorgangsnummer": str(data.get("vorgangsnummer", "")), "status": "eingegangen"}


app = Litestar([bare])
