"""Browser testing helpers: real Chromium (Debian's, never a downloaded one) driven by
Playwright, axe-core checks for WCAG 2.1 AA, and a real HTTP server for an ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn

from rathaus.platform.runtime.processes import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).parent / "kernel" / "static" / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium browser (Playwright ``Browser``)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page; return the WCAG 2.1 A/AA violations (empty when clean)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


async def assert_accessible(page: Any) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"axe-core found WCAG 2.1 AA violations on {page.url}: {violations}"


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port for the duration; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# the focused element: its kind ("input:text", "select:select-one", "a", "button:submit"),
# its accessible name as a person hears it, and its id
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return ["", "", ""];
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  const name = el.getAttribute("aria-label") || label || el.innerText || el.value || "";
  return [el.tagName.toLowerCase() + (el.type ? ":" + el.type : ""), name.replace(/\\s+/g, " ").trim(), el.id];
}"""
# an application form refreshed by htmx: mark the old one first (MARK_FORM), then wait until
# a new one (unmarked) is in place and no htmx request is in flight
MARK_FORM = "() => { document.getElementById('formular').dataset.alt = '1'; }"
FORM_REFRESHED = """() => {
  const form = document.getElementById("formular");
  return form !== null && form.dataset.alt === undefined && !document.querySelector(".htmx-request");
}"""


class Keyboard:
    """Drives a page with the keyboard alone: Tab to an element by its name (and its id,
    where a name is there more than once), then type, press Enter or Space. Every page it
    lands on is checked with axe-core."""

    def __init__(self, page: Any, base: str = "") -> None:
        self.page, self.base = page, base

    async def check(self) -> None:
        await self.page.wait_for_load_state("networkidle")
        await assert_accessible(self.page)

    async def tab_to(
        self, name: str = "", kind: str = "", element_id: str = "", backwards: bool = False
    ) -> None:
        seen = []
        for _ in range(150):
            await self.page.keyboard.press("Shift+Tab" if backwards else "Tab")
            tag, focused, found_id = await self.page.evaluate(FOCUSED)
            seen.append(f"{tag} {found_id} {focused[:40]}")
            if element_id and found_id != element_id:
                continue
            # a name may go on: "Postkorb (1 ungelesen)", "Straße (freiwillig)"
            named = not name or focused == name or focused.startswith(name + " ")
            if named and tag.startswith(kind):
                return
        wanted = element_id or name
        raise AssertionError(f"no {kind or 'element'} {wanted!r} reached by Tab on {self.page.url}: {seen}")

    async def type_into(self, label: str, text: str, element_id: str = "") -> None:
        await self.tab_to(label, "input", element_id)
        await self.page.keyboard.press("Control+A")
        await self.page.keyboard.type(text)

    async def follow(self, name: str, kind: str = "a", element_id: str = "") -> None:
        """Tab to a link or button and press Enter; wait for the next page and check it."""
        await self.tab_to(name, kind, element_id)
        async with self.page.expect_navigation():
            await self.page.keyboard.press("Enter")
        await self.check()

    async def submit_field(self) -> None:
        """Enter in a text field submits its form."""
        async with self.page.expect_navigation():
            await self.page.keyboard.press("Enter")
        await self.check()
