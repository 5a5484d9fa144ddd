"""The inspection page in a real headless browser (Chromium): it loads with no console error,
renders every character of the passage, and a screenshot of it is taken."""

import os
import shutil
import subprocess

import pytest

from rnnlab.reports.text import write_inspection
from rnnlab.text import TextSource, text_config, train_text

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not found: install Debian's chromium (apt-get install chromium) to run "
    "the browser test of the inspection page",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def _chromium(tmp_path, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    profile.mkdir()
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )


def _console_errors(stderr):
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "ERROR" in line or "Error" in line)
    ]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    code = "def f(x):\n    return [x, 'a', (1, 2)]  # note\n\n" * 80
    (d / "c.py").write_text(code)
    src = TextSource(str(d / "c.py"), seq_length=20)
    cfg = text_config(hidden=12, batch=4, steps=15, eval_every=5, out=str(d / "run"))
    train_text(cfg, src, progress=False, log=lambda s: None)
    write_inspection(d / "run", [str(d / "c.py")], d / "page", chars=400, measure_chars=2000)
    return d / "page" / "inspect.html"


def test_page_loads_without_console_errors_and_renders_the_text(page, tmp_path):
    res = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert not _console_errors(res.stderr), _console_errors(res.stderr)
    assert 'data-rendered="400"' in res.stdout  # the script ran to its end over 400 characters
    assert res.stdout.count("<span data-t=") == 400 or res.stdout.count("data-t=") == 400
    assert '<option value="0">layer ' in res.stdout  # the telling-cells list is filled


def test_console_errors_would_be_caught(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    res = _chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert _console_errors(res.stderr), res.stderr[-2000:]


def test_screenshot_of_the_page(page, tmp_path):
    shot = tmp_path / "inspect.png"
    res = _chromium(tmp_path, "--window-size=1200,900", f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[:2] == (900, 1200)
    rgb = img[..., :3]
    # a cell of a model trained for seconds is faint (|activation| well below 1): count any
    # tint; text and background are grey (red == blue), so an uncoloured page gives 0
    reddish = (rgb[..., 0] > rgb[..., 2] + 0.05).mean()
    bluish = (rgb[..., 2] > rgb[..., 0] + 0.05).mean()
    assert reddish + bluish > 0.005  # characters are coloured by the cell
