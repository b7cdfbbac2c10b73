"""The run page (``index.html``): what it shows, that it is written atomically by the training loops, and that a
real headless browser loads it with every image (skipped where no Chromium is installed)."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from PIL import Image

from tinygan.training.runpage import write_run_page

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def fake_run(folder):
    for name, size in (("losses.png", (60, 40)), ("plot_000010.png", (30, 30)), ("plot_000020.png", (30, 30)),
                       ("val_plot_000020.png", (30, 20))):
        Image.new("RGB", size, (200, 30, 30)).save(folder / name)


def test_page_shows_losses_latest_and_earlier_grids_and_tables(tmp_path):
    fake_run(tmp_path)
    path = write_run_page(tmp_path, "tinygan test", options={"lr": 0.0002, "data": "<b>x</b>"},
                          metrics={"val_l1": 0.0831}, timing={"step": "20 of 40"}, running=True)
    page = open(path).read()
    assert '<img src="losses.png?v=' in page
    latest = page.index("latest: plot_000020.png")
    assert page.index('src="plot_000010.png?v=') > latest  # the earlier grid, after the latest, small
    assert "latest: val_plot_000020.png" in page
    assert "0.0831" in page and "20 of 40" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x" not in page
    assert 'http-equiv="refresh"' in page
    assert sorted(os.listdir(tmp_path)) == ["index.html", "losses.png", "plot_000010.png", "plot_000020.png",
                                            "val_plot_000020.png"]  # no temporary left
    assert 'http-equiv="refresh"' not in open(write_run_page(tmp_path, "done", running=False)).read()


def test_pix2pix_and_gan1d_runs_write_the_page(tmp_path):
    import numpy as np

    from tinygan.cli import main
    assert main(["gan1d", "train", "--iterations", "20", "--eval-every", "10", "--out", str(tmp_path / "g"),
                 "--no-progress", "--quiet"]) == 0
    page = open(tmp_path / "g" / "index.html").read()
    assert "latest: generated_plot_e020.png" in page and "plot_line_plot_loss.png" in page
    assert "finished" in page and "latent_dim" in page
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "toy.npz", src, 255 - src)
    assert main(["pix2pix", "train", "--data", str(tmp_path / "toy.npz"), "--out", str(tmp_path / "p"), "--ngf", "4",
                 "--ndf", "4", "--epochs", "2", "--save-every", "1", "--no-progress", "--log-every", "0"]) == 0
    page = open(tmp_path / "p" / "index.html").read()
    assert "latest: plot_000008.png" in page and 'src="plot_000004.png' in page and 'src="losses.png' in page
    assert "validation L1" in page and "ngf" in page


def _browser():
    for name in ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no Chromium installed (apt-get install chromium-headless-shell)")
def test_page_loads_in_headless_chromium_with_every_image(tmp_path):
    fake_run(tmp_path)
    write_run_page(tmp_path, "tinygan browser test", options={"a": 1}, running=False)
    # a copy of the page with a probe that records each image's decoded width once everything has loaded
    page = open(tmp_path / "index.html").read()
    probe = ("<script>window.addEventListener('load',()=>{document.body.setAttribute('data-widths',"
             "[...document.images].map(i=>i.naturalWidth).join(','))})</script>")
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update", "--no-first-run",
                               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                               "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "probe.html").as_uri()],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    widths = re.search(r'data-widths="([\d,]*)"', proc.stdout)
    assert widths, proc.stdout[:2000]
    widths = [int(w) for w in widths.group(1).split(",")]
    assert len(widths) == 4 and all(w > 0 for w in widths), widths  # every image found and decoded
    assert "ERR_FILE_NOT_FOUND" not in proc.stderr and "Uncaught" not in proc.stderr
    assert "tinygan browser test" in proc.stdout
