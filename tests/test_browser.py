"""stag.book.browser: first-screen screenshots of a tiny served site in real headless Chromium."""

import struct
from pathlib import Path

import pytest

from stag.book.browser import CHROMEDRIVER, CHROMIUM, FIRST_SCREEN, screenshot_first_screens

needs_chromium = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
                                reason="Debian's chromium and chromium-driver are not installed")


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def _site(tmp_path: Path) -> Path:
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: Chapters\n"
                                       "    chapters:\n      - file: book/executed/01_first\n")
    html = tmp_path / "_build" / "html"
    (html / "book" / "executed").mkdir(parents=True)
    (html / "index.html").write_text("<html><body>index</body></html>")
    (html / "book" / "intro.html").write_text("<html><body><h1>Intro</h1></body></html>")
    tall = "".join(f"<p>paragraph {i}</p>" for i in range(400))
    (html / "book" / "executed" / "01_first.html").write_text(f"<html><body><h1>Question?</h1>{tall}</body></html>")
    return tmp_path


@needs_chromium
def test_first_screens_one_png_per_page_of_screen_size(tmp_path):
    root = _site(tmp_path)
    shots = screenshot_first_screens(root)
    assert [p.name for p in shots] == ["intro.png", "01_first.png"]
    assert all(p.parent == root / "_build" / "screenshots" for p in shots)
    # A first screen, not the whole (tall) page: the height is the window's, not the page's.
    width, height = _png_size(shots[1])
    assert width == FIRST_SCREEN[0] and 0 < height <= FIRST_SCREEN[1]


def test_first_screens_need_a_built_site(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    with pytest.raises(FileNotFoundError, match="build the book first"):
        screenshot_first_screens(tmp_path)


def test_stag_book_writes_the_first_screens_after_the_build(tmp_path, monkeypatch):
    import argparse

    from stag.book import browser, cli, report, runner

    calls = []
    fakes = {(runner, "check_executed"): lambda root: None,
             (runner, "build_html"): lambda root: root / "_build" / "html" / "index.html",
             (report, "write_reports"): lambda root: {},
             (report, "write_build_artifacts"): lambda root, facts: ("run.json", "results.zip"),
             (browser, "screenshot_first_screens"): lambda root: calls.append(root) or [root / "a.png"]}
    for (module, name), fake in fakes.items():
        monkeypatch.setattr(module, name, fake)
        monkeypatch.setattr(cli, name, fake, raising=False)  # in case cli imports the name at its top
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--no-execute", "--root", str(tmp_path)])) == 0
    assert calls == [tmp_path.resolve()]
    assert cli.run(parser.parse_args(["--no-execute", "--no-screenshots", "--root", str(tmp_path)])) == 0
    assert len(calls) == 1
