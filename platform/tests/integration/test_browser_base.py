"""The kernel's base layout and error page, in real Chromium, pass axe-core."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

from rathaus.platform.browser import assert_accessible, chromium, serve_asgi
from rathaus.platform.kernel import Kernel, Settings
from rathaus.platform.kernel.web import create_module_app


@get("/probe/")
async def probe_page() -> Template:
    return Template("error.html", context={"status": 200, "message": "Alles in Ordnung", "detail": ""})


async def test_base_layout_and_error_page_are_accessible(settings: Settings) -> None:
    kernel = Kernel("portal", settings)
    app = create_module_app(kernel, prefix="/probe", title="Probe", routes=[probe_page])
    async with serve_asgi(app) as base, chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/probe/")
        assert await page.title() == "Fehler 200 – Rathaus"
        await assert_accessible(page)
        response = await page.goto(f"{base}/probe/gibt-es-nicht")
        assert response is not None and response.status == 404
        assert "Diese Seite gibt es nicht." in await page.inner_text("main")
        await assert_accessible(page)
        # keyboard: the first Tab lands on the skip link, which leads to the content
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
