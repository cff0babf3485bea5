"""Remote weights: sha256-verified, atomic, cached; tested against a loopback HTTP server only."""

import http.server
import threading
from pathlib import Path

import pytest
import torch

from lprzoo.errors import CheckpointError
from lprzoo.hub import resolve, sha256_file
from lprzoo.weights import RecognizerRecord, save_recognizer


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate = False
    hits = 0

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        type(self).hits += 1
        path = Path(self.directory) / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if type(self).truncate else data)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = type("H", (_Handler,), {"truncate": False, "hits": 0})

    def make(*args, **kwargs):
        return handler(*args, directory=str(root), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()


@pytest.fixture
def weights(server):
    root, _, _ = server
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    path = save_recognizer(root / "tiny.safetensors", record.build(), record)
    return path, sha256_file(path)


def test_download_is_verified_and_the_second_load_hits_the_cache(server, weights, tmp_path, monkeypatch):
    import lprzoo

    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    _, base, handler = server
    url = f"{base}/tiny.safetensors#sha256={weights[1]}"
    reader = lprzoo.load(url)
    assert reader(torch.zeros(3, 48, 160, dtype=torch.uint8)).text is not None
    assert handler.hits == 1
    lprzoo.load(url)
    assert handler.hits == 1  # served from ~/.cache/lprzoo
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == ["tiny.safetensors"]


def test_hash_mismatch_is_refused_and_leaves_nothing(server, weights, tmp_path, monkeypatch):
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    _, base, _ = server
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        resolve(f"{base}/tiny.safetensors#sha256={'0' * 64}")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_truncated_download_is_a_clear_error_and_leaves_nothing(server, weights, tmp_path, monkeypatch):
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    _, base, handler = server
    handler.truncate = True
    with pytest.raises(CheckpointError, match="download failed|truncated"):
        resolve(f"{base}/tiny.safetensors#sha256={weights[1]}")
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_url_without_hash_is_refused_and_not_fetched(server, weights):
    _, base, handler = server
    with pytest.raises(CheckpointError, match="needs its sha256"):
        resolve(f"{base}/tiny.safetensors")
    assert handler.hits == 0


def test_zoo_record_url_downloads_into_the_cache(server, weights, tmp_path, monkeypatch):
    import lprzoo

    _, base, handler = server
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "tiny-remote.yaml").write_text(
        f"name: tiny-remote\nkind: recognizer\nweights:\n  file: tiny-remote.safetensors\n"
        f"  sha256: {weights[1]}\n  url: {base}/tiny.safetensors\n"
    )
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    assert lprzoo.list_models(pretrained=True) == ["tiny-remote"]
    reader = lprzoo.load("tiny-remote")
    assert reader.record.name == "tiny-remote" and handler.hits == 1
    lprzoo.load("tiny-remote")
    assert handler.hits == 1


def test_remote_ckpt_path_is_refused_before_lightning_sees_it(server, tmp_path, caplog):
    """A pickle served from localhost through --ckpt_path must not run (it did through Lightning)."""
    import io
    import os

    from lprzoo.cli import main

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    root, base, handler = server
    buffer = io.BytesIO()
    torch.save({"state_dict": {}, "x": Evil()}, buffer)
    (root / "x.ckpt").write_bytes(buffer.getvalue())
    assert main(["predict", "--ckpt_path", f"{base}/x.ckpt", "--data.predict", str(tmp_path)]) == 2
    assert "refused" in caplog.text and not (tmp_path / "PWNED").exists() and handler.hits == 0
    # and the same file on disk: refused by weights_only, never unpickled
    local = tmp_path / "x.ckpt"
    local.write_bytes(buffer.getvalue())
    assert main(["predict", "--ckpt_path", str(local), "--data.predict", str(tmp_path)]) == 2
    assert not (tmp_path / "PWNED").exists()


def _zoo_with(tmp_path: Path, weights: tuple[Path, str], url: str | None = None) -> Path:
    zoo = tmp_path / "zoo"
    zoo.mkdir(exist_ok=True)
    (zoo / "tiny.safetensors").write_bytes(weights[0].read_bytes())
    extra = f"  url: {url}\n" if url else ""
    (zoo / "tiny.yaml").write_text(
        f"name: tiny\nkind: recognizer\nweights:\n  file: tiny.safetensors\n  sha256: {weights[1]}\n{extra}"
    )
    return zoo


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_tampered_zoo_file_is_refused_never_served(weights, tmp_path, monkeypatch):
    import lprzoo

    zoo = _zoo_with(tmp_path, weights)
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    assert lprzoo.load("tiny").record.name == "tiny"
    _flip_a_byte(zoo / "tiny.safetensors")  # one flipped byte: another model under the zoo name
    with pytest.raises(CheckpointError, match="does not match zoo entry 'tiny'"):
        lprzoo.load("tiny")


def test_a_tampered_zoo_file_with_a_url_is_fetched_again(server, weights, tmp_path, monkeypatch):
    import lprzoo

    _, base, handler = server
    zoo = _zoo_with(tmp_path, weights, url=f"{base}/tiny.safetensors")
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    _flip_a_byte(zoo / "tiny.safetensors")
    path, _ = resolve("tiny")
    assert handler.hits == 1 and sha256_file(path) == weights[1] and path.is_relative_to(tmp_path / "cache")
    assert lprzoo.load("tiny").record.name == "tiny"


def test_a_tampered_cached_download_is_fetched_again(server, weights, tmp_path, monkeypatch):
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    _, base, handler = server
    url = f"{base}/tiny.safetensors#sha256={weights[1]}"
    path, _ = resolve(url)
    _flip_a_byte(path)
    again, _ = resolve(url)
    assert again == path and handler.hits == 2 and sha256_file(again) == weights[1]


def test_a_trickling_server_meets_the_total_deadline(weights, tmp_path, monkeypatch):
    """A server sending one byte at a time never trips a per-read timeout; the whole download has a deadline."""
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def trickle():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        try:
            for _ in range(200):
                conn.sendall(b"x")
                time.sleep(0.1)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LPRZOO_DOWNLOAD_DEADLINE_S", "1.5")
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="longer than 1.5 s"):
        resolve(f"http://127.0.0.1:{listener.getsockname()[1]}/w.safetensors#sha256={weights[1]}")
    assert time.monotonic() - start < 5
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_a_malformed_or_weightless_zoo_record_is_left_out_and_breaks_no_other(weights, tmp_path, monkeypatch, caplog):
    import lprzoo
    from lprzoo.hub import zoo_records

    zoo = _zoo_with(tmp_path, weights)
    (zoo / "broken.yaml").write_text("name: broken\nweights: [unclosed\n", encoding="utf-8")
    (zoo / "weightless.yaml").write_text("name: weightless\nkind: recognizer\n", encoding="utf-8")
    (zoo / "escape.yaml").write_text("name: escape\nweights: {file: ../../etc/passwd, sha256: ab}\n", "utf-8")
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    assert sorted(zoo_records()) == ["tiny"]
    assert lprzoo.load("tiny").record.name == "tiny"
    assert "broken.yaml: not valid YAML" in caplog.text and "weightless.yaml: a zoo record needs" in caplog.text
    assert "lies outside the zoo folder" in caplog.text


def test_a_second_record_claiming_an_entry_name_is_not_served(weights, tmp_path, monkeypatch, caplog):
    from lprzoo.hub import zoo_records

    zoo = _zoo_with(tmp_path, weights)
    impostor = (zoo / "tiny.yaml").read_text(encoding="utf-8").replace("tiny.safetensors", "other.safetensors")
    (zoo / "0-first-in-order.yaml").write_text(impostor, encoding="utf-8")
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    assert zoo_records()["tiny"].file == "tiny.safetensors"  # tiny.yaml is the entry, whatever sorts first
    assert "0-first-in-order.yaml and tiny.yaml both name 'tiny'; tiny.yaml is served" in caplog.text


def test_a_zoo_record_written_and_read_back_is_the_same_record(tmp_path):
    """The one writer drops only what is at its default: an empty extra alphabet ('') is a fact and stays."""
    from lprzoo.hub import ZooRecord

    record = ZooRecord(name="r", kind="recognizer", file="r.safetensors", sha256="0" * 64, arch="lightcrnn-1.2",
                       charset_extra="", metrics={"real/val": {"RA": 0.9}}, notes="n")  # fmt: skip
    again = ZooRecord.read(record.write(tmp_path))
    assert again == record and again.charset_extra == ""
    assert "generator" not in (tmp_path / "r.yaml").read_text(encoding="utf-8")  # defaults are left out
