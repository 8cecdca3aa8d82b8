"""The one-file HTML report: its content, and the page in a real headless Chromium.

The browser test needs playwright (the ``browser`` extra) and Debian's ``chromium``; ``.ci/run``
installs both and sets ``COMPLETENESS_BROWSER_TEST=1``, which turns a missing browser into a
failure instead of a skip.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import ase
import numpy as np
import pytest
from PIL import Image

from completeness import descriptors, structures
from completeness.analysis.report import ReportCard, run_audit
from completeness.report_html import audit_html, differing_atoms

PAIRS = ("pozdnyakov2020-fig1b", "enantiomers-chbrclf", "dojo-kchain-2")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def audit():
    pairs = [structures.load(name) for name in PAIRS]
    radial = descriptors.RadialSpectrum(cutoff=5.0, n_radial=4, density_width=0.5)
    return run_audit({"radial-spectrum": radial}, pairs, cards=True, timings=False)


def test_differing_atoms_compare_species_and_places_after_centring():
    plus = ase.Atoms("CHO", positions=[[5.0, 5.0, 5.0], [6.0, 5.0, 5.0], [5.0, 6.0, 5.0]])
    # same places, but H and O swapped; and the last atom moved
    minus = ase.Atoms("COH", positions=[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert differing_atoms(plus, minus) == ([1, 2], [1, 2])
    same = ase.Atoms("CHO", positions=[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert differing_atoms(plus, same) == ([], [])
    # whole-structure scope: centred on the centroid, so a rigid shift changes nothing
    shifted = ase.Atoms("CHO", positions=same.positions + 7.0)
    assert differing_atoms(shifted, same, scope="global") == ([], [])


def test_report_card_round_trips_through_json(audit):
    card = audit.cards["radial-spectrum"]
    again = ReportCard.from_dict(json.loads(json.dumps(card.to_dict(timings=False))))
    assert again.summary_lines(timings=False) == card.summary_lines(timings=False)


def test_page_has_a_row_per_pair_a_separator_per_scope_and_the_cards(audit):
    page = audit.html()
    assert page.count("<tr class='pair-row'") == len(PAIRS)
    assert page.count("<tr class='separator'>") == 2  # environment, then whole-structure pairs
    assert "The oracle's claim per pair" in page
    assert audit.pairs[0].claim.statement.split("(")[0].strip() in page
    assert "Report cards" in page and "radial-spectrum (O(3) 2-body)" in page
    # the enantiomers' features are identical: marked as such, not as a margin
    row = re.search(r"<tr class='pair-row' data-pair='1'>.*?</tr>", page).group(0)
    assert "\u2261" in row
    # self-contained: no URL the browser would fetch
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://[^\s\"']+\.js", page)


def test_page_from_a_results_file_loads_catalog_structures(audit):
    data = json.loads(json.dumps(audit.to_dict()))
    page = audit_html(data)
    payload = re.search(r'id="completeness-data">(.*?)</script>', page, flags=re.S).group(1)
    members = json.loads(payload)["structures"]
    assert len(members) == len(PAIRS)
    first = structures.load(PAIRS[0])
    np.testing.assert_allclose(
        members[0]["plus"]["positions"], first.plus.positions - first.plus.positions[0], atol=1e-6
    )


def _browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return shutil.which(CHROMIUM) is not None


def test_page_in_headless_chromium(audit, tmp_path):
    if not _browser_available():
        if os.environ.get("COMPLETENESS_BROWSER_TEST") == "1":
            pytest.fail("COMPLETENESS_BROWSER_TEST=1 but playwright or /usr/bin/chromium missing")
        pytest.skip("needs playwright (the browser extra) and Debian's chromium")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(audit.html(), encoding="utf-8")
    messages, requests = [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelector('#viewer-minus canvas') !== null")
            rows = page.locator("table.heat tr.pair-row").count()
            canvases = page.evaluate(
                """() => Array.from(document.querySelectorAll('.viewer canvas'))
                       .map(c => [c.width, c.height])"""
            )
            drawn = page.locator("#viewer-plus").screenshot()
            page.locator("a[data-pair='2']").click()
            selected = page.locator("#pair-select").input_value()
            claim = page.locator("#viewer-claim").inner_text()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    errors = [m for m in messages if m[0] in ("error", "pageerror")]
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []
    assert rows == len(PAIRS)
    assert len(canvases) == 2 and all(w > 100 and h > 100 for w, h in canvases)
    assert selected == "2" and claim.startswith(PAIRS[2])
    # the viewer drew atoms: a good share of its pixels is not the white background
    pixels = np.asarray(Image.open(io.BytesIO(drawn)).convert("L"))
    assert (pixels < 200).mean() > 0.002
    assert (tmp_path / "report.png").stat().st_size > 10_000
    if os.environ.get("COMPLETENESS_SCREENSHOT"):
        shutil.copy(tmp_path / "report.png", Path(os.environ["COMPLETENESS_SCREENSHOT"]))


def test_audit_html_and_report_from_its_json(tmp_path, capsys):
    from completeness.cli import main

    page, results, again = (tmp_path / n for n in ("audit.html", "audit.json", "again.html"))
    status = main(
        ["audit", "--descriptor", "radial-spectrum", "--no-timings", "--quiet",
         "--json", str(results), "--html", str(page)]
    )  # fmt: skip
    assert status == 0 and capsys.readouterr().err == ""
    n_pairs = len(json.loads(results.read_text())["pairs"])
    assert page.read_text().count("<tr class='pair-row'") == n_pairs
    assert main(["report", str(results), "--html", str(again)]) == 0
    assert f"1 descriptor(s) x {n_pairs} pair(s)" in capsys.readouterr().out
    assert again.read_text().count("<tr class='pair-row'") == n_pairs


def test_report_refuses_a_file_that_is_not_an_audit(tmp_path, capsys):
    from completeness.cli import main

    other = tmp_path / "other.json"
    other.write_text('{"rows": []}')
    assert main(["report", str(other), "--html", str(tmp_path / "x.html")]) == 2
    assert "has no 'pairs'" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
