"""A zoo that installs: a wheel built from the repository and installed outside the checkout lists the zoo and reads
a plate with ``lprzoo.load(name)``, its weights fetched from the record's URL (a loopback mirror here)."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import lprzoo
from tests.conftest import write_plates

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_outside_the_checkout_reads_a_plate_from_a_loopback_url(tmp_path):
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(dist)], check=True)
    (wheel,) = dist.glob("lprzoo-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    assert not list(site.glob("lprzoo/zoo/*.safetensors")) and list(site.glob("lprzoo/zoo/*.yaml"))  # records only

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "zoo"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    write_plates(tmp_path / "plates", 1, size=(160, 48))
    (plate,) = (tmp_path / "plates").glob("*.jpg")
    env = {k: v for k, v in os.environ.items() if k not in ("LPRZOO_ZOO", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), LPRZOO_ZOO_URL=f"http://127.0.0.1:{server.server_address[1]}",
               LPRZOO_CACHE=str(tmp_path / "cache"))  # fmt: skip
    code = (
        "import sys, lprzoo\n"
        f"assert lprzoo.__file__.startswith({str(site)!r}), lprzoo.__file__\n"
        "assert 'lightcrnn-1.2-real' in lprzoo.list_models(pretrained=True)\n"
        f"print(lprzoo.load('lightcrnn-1.2-real')({str(plate)!r}).text)\n"
    )
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == lprzoo.load("lightcrnn-1.2-real")(plate).text  # the checkout's zoo, same weights
    assert list((tmp_path / "cache").rglob("lightcrnn-1.2-real.safetensors"))  # downloaded, verified, cached
