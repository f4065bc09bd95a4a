"""The page shell: navigation that packs extend, assets from installed packages, prefixes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.registry import NoSettings, Pack, Page, discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests import example_pack
from tests.dashboard.servers import serve

EXAMPLE = example_pack.pack


def _client(tmp_path: Path, *extra: Pack, **settings: object) -> TestClient:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", data_dir=tmp_path / "data",
                 state_dir=tmp_path / "state", **settings)
    return TestClient(create_app(Runtime.build(s, (*discover_packs(), *extra))))


def test_a_new_pack_adds_its_page_to_the_navigation_without_core_edits(tmp_path: Path) -> None:
    with _client(tmp_path, EXAMPLE) as client:
        home = client.get("/", follow_redirects=False)
        page = client.get("/example")
        network = client.get("/network").text
    first = next(page.path for pack in discover_packs() for page in pack.pages)
    assert (home.status_code, home.headers["location"]) == (307, "." + first)
    assert page.status_code == 200
    # the pack's page is wrapped in the shell, with every page in the navigation
    for html in (page.text, network):
        assert re.search(r'<nav aria-label="pages">.*href="network".*href="example"'
                         r'.*href="ingest"', html)
    assert 'href="example" class=active aria-current=page' in page.text
    assert re.search(r'<h1 id="example">Example pack</h1><p>packs: [a-z, ]*\bexample</p>',
                     page.text)
    assert "dataset.ran" in page.text


def test_pages_fetch_nothing_from_outside(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        for path in ("/network", "/ingest"):
            html = client.get(path).text
            urls = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert urls and not [u for u in urls if re.match(r"(?i)[a-z]+:|//|/", u)], path
            assert "cdn.bokeh.org" not in html
        bokeh_js = client.get("/static/bokeh/js/bokeh.min.js")
        assert bokeh_js.status_code == 200 and len(bokeh_js.content) > 500_000
        assert client.get("/static/dashboard/dashboard.js").status_code == 200
        assert client.get("/static/bokeh/../../__init__.py").status_code == 404


def test_base_href_follows_the_root_path(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        assert '<base href="./">' in client.get("/network").text
    s = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", state_dir=tmp_path / "state")
    app = create_app(Runtime.build(s, discover_packs()))
    with TestClient(app, root_path="/kpiflow") as client:
        assert '<base href="/kpiflow/">' in client.get("/network").text
        home = client.get("/", follow_redirects=False)
        first = next(page.path for pack in discover_packs() for page in pack.pages)
        assert home.headers["location"] == "/kpiflow" + first


def test_two_pages_on_one_path_are_refused(tmp_path: Path) -> None:
    twin = Pack(name="twin", title="Twin", settings_model=NoSettings,
                pages=(Page("/ingest", "Mine", example_pack.render),))
    with pytest.raises(ValueError, match="two pages claim the path '/ingest'"):
        _client(tmp_path, twin)


@pytest.mark.xdist_group("browser")
def test_a_new_pack_page_runs_in_the_browser(tmp_path: Path, browser_page: tuple) -> None:
    page, console = browser_page
    s = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", state_dir=tmp_path / "state")
    with serve(create_app(Runtime.build(s, (*discover_packs(), EXAMPLE)))) as url:
        page.goto(f"{url}/")
        page.click("header nav >> text=Example")
        page.wait_for_selector("#example[data-ran='1']")
        assert page.url == f"{url}/example"
    assert console.errors == []
