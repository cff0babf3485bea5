"""Where weights come from: the zoo's records, the user cache and sha256-verified downloads.

Resolution order of :func:`resolve` (torchvision ``Weights`` / timm ``PretrainedCfg`` in spirit):

1. a zoo name (``lightcrnn-1.2-adapt``): its record in ``zoo/<name>.yaml`` names the weights file and its sha256;
   the file is taken from ``zoo/`` when present, else from the user cache, else downloaded from the record's
   ``url`` into the cache;
2. an existing local file;
3. an ``http(s)://`` URL **with** a sha256 (``https://host/x.safetensors#sha256=<hex>``): downloaded once into the
   cache.  A URL without a hash is refused: nothing unverified is ever read, and nothing is ever unpickled.

Downloads are atomic (a temporary file renamed into place only once its sha256 matches), so an interrupted or
corrupt download leaves nothing in the cache, and have a total deadline, not only a per-read timeout.  Every zoo file
and cached download is checked against its record's sha256 the first time a process uses it (then remembered by its
path, size and modification time): a cached file that fails is fetched again, a zoo file that fails is refused.
The cache is ``~/.cache/lprzoo`` or ``$LPRZOO_CACHE``; the records are the package's (``lprzoo/zoo``: package data
of the wheel; in a checkout a link to the repository's ``zoo/``, which holds the weights too) or ``$LPRZOO_ZOO``;
``$LPRZOO_ZOO_URL`` names a mirror of the weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import urllib.request
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from lprzoo.errors import CheckpointError, LprzooError, MissingInputError

log = logging.getLogger(__name__)

_SHA_IN_URL = re.compile(r"#sha256=([0-9a-fA-F]{64})$")


ZOO_URL = "https://github.com/lprzoo/lprzoo/releases/download/zoo-1"  # where the records' weights are published


def zoo_dir() -> Path:
    """The folder of zoo records: ``$LPRZOO_ZOO``, else the records installed with the package (``lprzoo/zoo``:
    package data in a wheel, the repository's ``zoo/`` through a link in a checkout, weights included there)."""
    if os.environ.get("LPRZOO_ZOO"):
        return Path(os.environ["LPRZOO_ZOO"])
    from importlib.resources import files

    return Path(str(files("lprzoo") / "zoo"))


def weights_url(record: ZooRecord) -> str | None:
    """Where a record's weights download from: its ``url``, or the same file on ``$LPRZOO_ZOO_URL`` (a mirror, as
    ``HF_ENDPOINT`` is for the Hugging Face hub)."""
    mirror = os.environ.get("LPRZOO_ZOO_URL")
    if mirror and record.url:
        return f"{mirror.rstrip('/')}/{Path(urllib.request.urlparse(record.url).path).name}"
    return record.url


def cache_dir() -> Path:
    """The user cache of downloaded weights: ``$LPRZOO_CACHE`` or ``~/.cache/lprzoo``."""
    return Path(os.environ.get("LPRZOO_CACHE", Path.home() / ".cache" / "lprzoo")).expanduser()


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for this process
DOWNLOAD_DEADLINE_S = 600.0  # a whole download, whatever the server's pace ($LPRZOO_DOWNLOAD_DEADLINE_S)


def verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` holds the bytes whose sha256 is ``sha256`` (hashed once per process and file version)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_file(path)
    return _VERIFIED[key] == sha256.lower()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ZooRecord:
    """One zoo entry, ``zoo/<name>.yaml``: the weights file, its hash and everything measured about it, typed (the
    model is timm's ``PretrainedCfg`` and torchvision's ``Weights.meta``).  :meth:`read` is its one reader and
    :meth:`write` its one writer (``lprzoo publish``, ``publish-generator``, ``adapt`` and ``benchmark
    --update_zoo`` all write through it)."""

    name: str
    kind: str  # "recognizer" or "generator"
    file: str
    sha256: str
    url: str | None = None
    # what the weights file carries too, repeated for readers of the YAML alone (tests/test_zoo.py checks they agree)
    arch: str | None = None
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    charset_extra: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    generator: dict[str, Any] = field(default_factory=dict)  # a generator's architecture and what it was trained on
    # how it was made
    recipe: str = ""
    command: str = ""
    git_commit: str = ""
    train_time: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # summary, sources (path, count, labels' sha256), notes
    adaptation: dict[str, Any] = field(default_factory=dict)  # lprzoo adapt: its pool, rounds and why it stopped
    # what was measured: metrics per named set, storage check, a fixed handful, size and speed
    storage: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    handful: dict[str, Any] = field(default_factory=dict)
    num_params: int = 0
    file_size: int = 0
    speed: dict[str, Any] = field(default_factory=dict)
    benchmark: dict[str, Any] = field(default_factory=dict)  # lprzoo benchmark --update_zoo
    license: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know (a newer lprzoo's)

    @classmethod
    def read(cls, path: Path) -> ZooRecord:
        import yaml  # PyYAML: a Lightning dependency, but importing it does not import Lightning

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise LprzooError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: Path | str = "<record>") -> ZooRecord:
        """A record from its YAML form (:meth:`to_dict`); ``path`` names it in errors."""
        if not isinstance(data, dict) or not isinstance(data.get("weights"), dict):
            raise LprzooError(f"{path}: a zoo record needs `name` and `weights: {{file, sha256}}`")
        weights = data["weights"]
        missing = [k for k in ("file", "sha256") if not weights.get(k)] + (["name"] if not data.get("name") else [])
        if missing:
            raise LprzooError(f"{path}: a zoo record needs {', '.join(missing)}")
        file = str(weights["file"])
        if Path(file).is_absolute() or ".." in Path(file).parts:  # a record names a file of its own zoo only
            raise LprzooError(f"{path}: weights file {file!r} lies outside the zoo folder")
        typed = {f.name for f in fields(cls)} - {"name", "kind", "file", "sha256", "url", "extra"}
        values = {k: v for k, v in data.items() if k in typed and v is not None}
        try:
            return cls(
                name=str(data["name"]),
                kind=data.get("kind", "recognizer"),
                file=file,
                sha256=str(weights["sha256"]),
                url=weights.get("url"),
                **values,
                extra={k: v for k, v in data.items() if k not in typed | {"name", "kind", "weights"}},
            )
        except TypeError as e:
            raise LprzooError(f"{path}: a malformed zoo record ({e})") from None

    def to_dict(self) -> dict[str, Any]:
        """The YAML form: ``name``, ``kind``, ``weights: {file, sha256, url}``, then every field that is set (not at
        its default: ``charset_extra: ''``, no extra characters, is kept; ``None``, not recorded, is left out)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind,
                               "weights": {"file": self.file, "sha256": self.sha256, "url": self.url}}  # fmt: skip
        for f in fields(self):
            value = getattr(self, f.name)
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            if f.name not in ("name", "kind", "file", "sha256", "url", "extra") and value != default:
                out[f.name] = value
        return {**out, **self.extra}

    def write(self, folder: Path) -> Path:
        """Write ``<folder>/<name>.yaml`` (atomically) and return its path."""
        import yaml

        from lprzoo.folders import atomic_write_text

        path = Path(folder) / f"{self.name}.yaml"
        atomic_write_text(path, yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=120))
        return path


def zoo_records() -> dict[str, ZooRecord]:
    """Every usable zoo record by name (``zoo/*.yaml``).  A malformed record, or a second record of a name, is left
    out with a warning naming its file: it never breaks the other entries, and it is never served."""
    folder = zoo_dir()
    if not folder.is_dir():
        return {}
    records: dict[str, ZooRecord] = {}
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            record = ZooRecord.read(path)
        except LprzooError as e:
            log.warning("zoo: %s; this entry is left out", e)
            continue
        if record.name in records:  # <name>.yaml is the entry; another file claiming its name is not
            keep, drop = (path, origin[record.name]) if path.stem == record.name else (origin[record.name], path)
            log.warning("zoo: %s and %s both name %r; %s is served, %s is left out",
                        origin[record.name].name, path.name, record.name, keep.name, drop.name)  # fmt: skip
            if keep is origin[record.name]:
                continue
        records[record.name], origin[record.name] = record, path
    return records


def download(url: str, sha256: str, target: Path, progress: bool = True, deadline_s: float | None = None) -> Path:
    """Fetch ``url`` into ``target`` atomically, verifying ``sha256``; a second call finds it in place.

    A file already at ``target`` whose hash differs (tampered or corrupt) is fetched again.

    Raises:
        CheckpointError: the download failed, took longer than ``deadline_s`` in all (default
            ``$LPRZOO_DOWNLOAD_DEADLINE_S`` or 600 s) or its hash differs; nothing is left at ``target``.
    """
    import time

    if target.is_file() and verified(target, sha256):
        return target
    if deadline_s is None:
        deadline_s = float(os.environ.get("LPRZOO_DOWNLOAD_DEADLINE_S", DOWNLOAD_DEADLINE_S))
    give_up = time.monotonic() + deadline_s
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=min(60, deadline_s)) as response:
            total = int(response.headers.get("Content-Length") or 0)
            bar = _bar(progress, total, target.name)
            while block := response.read1(1 << 20):  # returns what has arrived: the deadline is checked per block
                if time.monotonic() > give_up:
                    if bar is not None:
                        bar[0].stop()
                    raise CheckpointError(url, f"download took longer than {deadline_s:g} s; gave up (nothing kept)")
                out.write(block)
                digest.update(block)
                if bar is not None:
                    bar[0].advance(bar[1], len(block))
            if bar is not None:
                bar[0].stop()
            if total and out.tell() != total:
                raise CheckpointError(url, f"truncated download: {out.tell()} of {total} bytes")
        if digest.hexdigest() != sha256.lower():
            raise CheckpointError(url, f"sha256 mismatch: expected {sha256[:12]}…, got {digest.hexdigest()[:12]}…")
        os.replace(tmp, target)
    except OSError as e:
        raise CheckpointError(url, f"download failed: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _bar(enabled: bool, total: int, name: str):
    if not enabled:
        return None
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.start()
    return progress, progress.add_task(f"downloading {name}", total=total or None)


def resolve(source: str | Path) -> tuple[Path, ZooRecord | None]:
    """A zoo name, local path or hashed URL -> a verified local file (and the zoo record, if any).

    Raises:
        LprzooError: an unknown name, a missing file, an unhashed URL or a failed download, in one line.
    """
    text = str(source)
    if text.startswith(("http://", "https://")):
        match = _SHA_IN_URL.search(text)
        if match is None:
            raise CheckpointError(
                text,
                "a URL needs its sha256 (`URL#sha256=<64 hex>`) or a zoo record; unverified remote weights "
                "are never read (and checkpoints are never unpickled)",
            )
        url = text[: match.start()]
        name = Path(urllib.request.urlparse(url).path).name or "weights"
        return download(url, match[1], cache_dir() / match[1][:16] / name), None
    path = Path(text).expanduser()
    if path.exists():
        return path, None
    records = zoo_records()
    if text in records:
        record = records[text]
        local = zoo_dir() / record.file
        cached = cache_dir() / record.sha256[:16] / Path(record.file).name
        if local.is_file():
            if verified(local, record.sha256):
                return local, record
            if not record.url:
                raise CheckpointError(
                    local, f"does not match zoo entry {text!r}'s sha256 (changed or corrupt); refused: restore it "
                    f"(git checkout {local.parent.name}/{local.name}) or delete it"
                )  # fmt: skip
        if cached.is_file() and verified(cached, record.sha256):
            return cached, record
        if record.url:  # also replaces a cached file that failed
            return download(weights_url(record), record.sha256, cached), record
        if cached.is_file():
            raise CheckpointError(cached, f"does not match zoo entry {text!r}'s sha256 and the record has no url")
        raise CheckpointError(local, f"zoo entry {text!r}: weights file missing and the record has no url")
    if "/" in text or text.endswith((".ckpt", ".safetensors", ".pt", ".pth")):
        raise MissingInputError(f"no weights at {path}")
    hint = ", ".join(sorted(records)) or "none (no zoo/ folder found)"
    raise LprzooError(f"{text!r} is neither a file nor a zoo entry; zoo entries: {hint}")


def source_sha256(source: str | Path) -> str:
    """The sha256 of the weights ``source`` resolves to: the zoo record's, else the file's (nothing is loaded)."""
    path, record = resolve(source)
    return record.sha256 if record is not None else sha256_file(path)
