"""``lprzoo data``: look at a dataset before training on it.

- ``lprzoo data stats DIR|labels.tsv``: counts by province, colour (by hue, :func:`lprzoo.evaluate.plate_colour`),
  length and plate spec (:func:`lprzoo.render.rules.plate_spec_of`), an image-size histogram, duplicates by content
  hash and labels that break the plate grammar; a rich table plus a PNG of the distributions.
- ``lprzoo data validate DIR``: every bad file at once, with the messages training gives
  (:func:`lprzoo.data.sources.read_source`, :func:`lprzoo.data.images.load_plate`), without training; exit code 2
  when anything is bad.
- ``lprzoo data augment-preview``: a PNG grid of one plate under the training augmentations
  (:class:`lprzoo.data.augment.PlateAugment`) and of rendered plates under each degradation
  (:mod:`lprzoo.render.degrade`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table

from lprzoo.charset import Charset
from lprzoo.data.sources import Sample, SkipLog, SourceFormat, read_source
from lprzoo.errors import InvalidSampleError
from lprzoo.folders import printable

log = logging.getLogger(__name__)

BREAKS_GRAMMAR = "(breaks grammar)"


class CollectingSkipLog(SkipLog):
    """A :class:`SkipLog` (``skip_invalid=True``) that also keeps every error, not one example per reason."""

    def __init__(self) -> None:
        super().__init__(skip_invalid=True)
        self.errors: list[InvalidSampleError] = []

    def handle(self, error: InvalidSampleError) -> None:
        self.errors.append(error)
        super().handle(error)


@dataclass
class DataStats:
    """What ``lprzoo data stats`` counted (returned for tests and scripts)."""

    source: str
    plates: int = 0
    province: Counter[str] = field(default_factory=Counter)
    colour: Counter[str] = field(default_factory=Counter)
    length: Counter[int] = field(default_factory=Counter)
    spec: Counter[str] = field(default_factory=Counter)
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (width, height) per readable image
    duplicates: list[list[str]] = field(default_factory=list)  # groups of files with the same bytes
    bad_grammar: list[tuple[str, str]] = field(default_factory=list)  # (file, label)
    unreadable: list[InvalidSampleError] = field(default_factory=list)  # skipped or undecodable files


def _read(source: str, extra_chars: str, format: SourceFormat, plates: bool) -> tuple[list[Sample], CollectingSkipLog]:
    skips = CollectingSkipLog()
    samples = read_source(source, Charset(extra_chars), format, skips, labelled=True, plates=plates)
    return samples, skips


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def collect_stats(
    source: str, extra_chars: str = "", format: SourceFormat = "auto", progress: bool = True
) -> DataStats:
    """Read and decode every plate of ``source`` once and count what :func:`stats` reports."""
    from PIL import Image

    from lprzoo.data.images import load_plate
    from lprzoo.evaluate import plate_colour
    from lprzoo.render.rules import plate_spec_of

    samples, skips = _read(source, extra_chars, format, plates=False)  # grammar breaks are counted, not skipped
    out = DataStats(str(source), unreadable=list(skips.errors))
    by_hash: dict[str, list[str]] = defaultdict(list)
    items = track(samples, description="reading plates", console=Console(stderr=True)) if progress else samples
    for s in items:
        try:
            data = Path(s.path).read_bytes()
            with Image.open(s.path) as img:  # the size as a viewer shows it: EXIF orientations 5-8 turn it
                size = img.size[::-1] if img.getexif().get(0x0112, 1) in (5, 6, 7, 8) else img.size
            colour = plate_colour(load_plate(s))
        except InvalidSampleError as e:
            out.unreadable.append(e)
            continue
        except OSError as e:
            out.unreadable.append(InvalidSampleError(s.path, f"corrupt or truncated image: {e}"))
            continue
        out.plates += 1
        by_hash[hashlib.blake2b(data, digest_size=16).hexdigest()].append(s.path)
        out.sizes.append(size)
        out.colour[colour] += 1
        out.province[s.label[:1]] += 1
        out.length[len(s.label)] += 1
        spec = plate_spec_of(s.label)
        out.spec[spec or BREAKS_GRAMMAR] += 1
        if spec is None:
            out.bad_grammar.append((s.path, s.label))
    out.duplicates = [paths for paths in by_hash.values() if len(paths) > 1]
    return out


def _counts_table(title: str, counts: Counter, total: int, ordered: bool = False) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split(" ")[0])
    table.add_column("plates", justify="right")
    table.add_column("share", justify="right")
    for key, n in counts.items() if ordered else counts.most_common():
        table.add_row(escape(str(key)), str(n), f"{n / max(total, 1):.1%}")
    return table


def _size_bins(sizes: list[tuple[int, int]]) -> Counter[str]:
    """Image heights binned as ``lo-hi px`` (height decides how much detail the 48-pixel input keeps)."""
    edges = [0, 24, 32, 48, 64, 96, 128, 192, 10**9]
    bins: Counter[str] = Counter()
    for _, h in sizes:
        i = next(k for k in range(len(edges) - 1) if edges[k] <= h < edges[k + 1])
        hi = "+" if edges[i + 1] == 10**9 else f"-{edges[i + 1] - 1}"
        bins[f"{edges[i]}{hi} px"] += 1
    return Counter(dict(sorted(bins.items(), key=lambda kv: int(kv[0].split("-")[0].split("+")[0].split(" ")[0]))))


def print_stats(st: DataStats, console: Console | None = None) -> None:
    """The rich tables of :func:`stats`."""
    from rich.columns import Columns

    console = console or _console()
    summary = Table(title=f"lprzoo data stats {escape(printable(st.source))}", title_justify="left", show_header=False)
    summary.add_column()
    summary.add_column(justify="right")
    widths = sorted(w for w, _ in st.sizes)
    heights = sorted(h for _, h in st.sizes)
    summary.add_row("plates read", str(st.plates))
    summary.add_row("unreadable or skipped files", str(len(st.unreadable)))
    summary.add_row("duplicate groups (same bytes)", f"{len(st.duplicates)} ({sum(map(len, st.duplicates))} files)")
    summary.add_row("labels breaking the plate grammar", str(len(st.bad_grammar)))
    if st.sizes:
        summary.add_row("width min / median / max", f"{widths[0]} / {widths[len(widths) // 2]} / {widths[-1]}")
        summary.add_row("height min / median / max", f"{heights[0]} / {heights[len(heights) // 2]} / {heights[-1]}")
    console.print(summary)
    console.print(
        Columns(
            [
                _counts_table("province", st.province, st.plates),
                _counts_table("colour (by hue)", st.colour, st.plates),
                _counts_table("spec", st.spec, st.plates),
                _counts_table("length", Counter(dict(sorted(st.length.items()))), st.plates, ordered=True),
                _counts_table("height", _size_bins(st.sizes), st.plates, ordered=True),
            ]
        )
    )
    for paths in st.duplicates[:10]:
        console.print(f"duplicate: {' = '.join(escape(printable(p)) for p in paths)}")
    if len(st.duplicates) > 10:
        console.print(f"... and {len(st.duplicates) - 10} more duplicate groups")
    for path, label in st.bad_grammar[:20]:
        console.print(f"breaks the plate grammar: {escape(printable(path))} label {escape(repr(label))}")
    if len(st.bad_grammar) > 20:
        console.print(f"... and {len(st.bad_grammar) - 20} more labels breaking the grammar")
    for e in st.unreadable[:20]:
        console.print(f"[red]bad file[/]: {escape(printable(e.path))}: {escape(e.reason)}")
    if len(st.unreadable) > 20:
        console.print(f"... and {len(st.unreadable) - 20} more bad files (`lprzoo data validate` lists them all)")


def _cjk_matplotlib() -> None:
    """Let matplotlib draw province characters: the renderer's CJK font as a fallback after DejaVu Sans."""
    import matplotlib
    from matplotlib import font_manager

    try:
        from lprzoo.render.fonts import cjk_font_path

        path = cjk_font_path()
    except Exception as e:  # no CJK font: the provinces show as boxes, nothing else changes
        log.debug("no CJK font for plots: %s", e)
        return
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # the CJK face is bold only: fine
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", name]


def plot_stats(st: DataStats, target: str | Path) -> Path:
    """A PNG of the distributions: province, colour, spec, length, image width and height."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _cjk_matplotlib()
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), dpi=80)
    palette = {"blue": "#1f5fbf", "yellow": "#e6b800", "other": "#888888"}

    def bars(ax, counts: Counter, title: str, colours: dict[str, str] | None = None) -> None:
        keys = [k for k, _ in counts.most_common()]
        ax.bar(
            range(len(keys)), [counts[k] for k in keys], color=[(colours or {}).get(str(k), "#4c72b0") for k in keys]
        )
        ax.set_xticks(range(len(keys)), [str(k) for k in keys], fontsize=9 if len(keys) < 20 else 7)
        ax.set_title(title)

    bars(axes[0, 0], st.province, f"province ({len(st.province)})")
    bars(axes[0, 1], st.colour, "colour (by hue)", palette)
    bars(axes[0, 2], st.spec, "plate spec", {BREAKS_GRAMMAR: "#c44e52"})
    bars(axes[1, 0], Counter(dict(sorted(st.length.items()))), "label length")
    widths, heights = [w for w, _ in st.sizes], [h for _, h in st.sizes]
    axes[1, 1].hist(widths, bins=30, color="#55a868")
    axes[1, 1].set_title("image width (px)")
    axes[1, 2].hist(heights, bins=30, color="#8172b2")
    axes[1, 2].set_title("image height (px)")
    fig.suptitle(
        f"{printable(st.source)}: {st.plates} plates, {len(st.duplicates)} duplicate groups, "
        f"{len(st.bad_grammar)} labels breaking the grammar, {len(st.unreadable)} bad files"
    )
    fig.tight_layout()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    plt.close(fig)
    return target


def stats(
    source: str, plot: str | None = "runs/data/data-stats.png", extra_chars: str = "", format: SourceFormat = "auto"
) -> DataStats:
    """Counts by province, colour (hue), length and plate spec; image sizes; duplicates; grammar breaks.

    Args:
        source: a folder of crops, a labels file (``labels.tsv``/``.csv``), a CCPD folder or a glob pattern.
        plot: where to write the PNG of the distributions (``null``: none).
        extra_chars: characters beyond the paper's 67 that labels may hold.
        format: ``auto``, ``filename``, ``labels`` or ``ccpd`` (as ``--data.format``).
    """
    st = collect_stats(source, extra_chars, format)
    print_stats(st)
    if plot:
        _console().print(f"distributions -> {plot_stats(st, plot)}")
    return st


def validate(source: str, extra_chars: str = "", format: SourceFormat = "auto", plates: bool = True) -> int:
    """Check every file of a dataset as training would and list every bad one; exit code 2 if any.

    Args:
        source: a folder of crops, a labels file, a CCPD folder or a glob pattern.
        extra_chars: characters beyond the paper's 67 that labels may hold (as ``--data.extra_chars``).
        format: ``auto``, ``filename``, ``labels`` or ``ccpd`` (as ``--data.format``).
        plates: check labels against the plate grammar (as ``--data.check_plates``).

    Returns:
        the number of good files; raises :class:`InvalidSampleError` (exit code 2) naming the count of bad ones.
    """
    from lprzoo.data.images import load_plate

    samples, skips = _read(source, extra_chars, format, plates)
    for s in track(samples, description="decoding", console=Console(stderr=True)):
        try:
            load_plate(s)
        except InvalidSampleError as e:
            skips.handle(e)
    console = _console()
    for e in skips.errors:
        console.print(f"[red]bad[/] {escape(printable(e.path))}: {escape(e.reason)}")
    good = len(samples) - len({e.path for e in skips.errors} & {s.path for s in samples})
    if skips.errors:
        reasons = Counter(e.reason.split(":")[0] for e in skips.errors)
        detail = "; ".join(f"{n} × {r}" for r, n in reasons.most_common())
        raise InvalidSampleError(source, f"{len(skips.errors)} bad files, {good} good ({detail}); listed above")
    console.print(f"[green]ok[/]: {good} files in {escape(printable(source))}, all readable and labelled")
    return good


def augment_preview(
    out: str = "runs/data/augment-preview.png",
    image: str | None = None,
    n: int = 8,
    spec: str = "blue",
    seed: int = 0,
) -> Path:
    """A PNG grid: one plate under the training augmentations, then rendered plates under each degradation.

    Args:
        out: the PNG to write.
        image: a plate crop to augment (default: a clean rendered plate of ``spec``).
        n: pictures per row.
        spec: plate spec of the rendered plates.
        seed: random seed (the same seed draws the same grid).
    """
    import dataclasses

    import numpy as np
    import torch
    from PIL import Image, ImageDraw

    from lprzoo.data.augment import PlateAugment
    from lprzoo.data.images import load_plate
    from lprzoo.render.degrade import Degradations
    from lprzoo.render.renderer import PlateRenderer
    from lprzoo.viz import label_font

    rng = np.random.default_rng(seed)
    clean = PlateRenderer(spec, degradations="none")
    text = clean.sample_text(rng)
    if image:
        plate = load_plate(Sample(image))
    else:
        plate = torch.from_numpy(clean.render(text, np.random.default_rng(seed))).permute(2, 0, 1).contiguous()
    torch.manual_seed(seed)
    augment = PlateAugment()
    rows: list[tuple[str, list[np.ndarray]]] = [
        ("PlateAugment", [plate.permute(1, 2, 0).numpy()] + [augment(plate).permute(1, 2, 0).numpy() for _ in range(n)])
    ]
    default = Degradations.default()
    presets: list[tuple[str, Degradations]] = []
    for f in dataclasses.fields(Degradations):
        op = getattr(default, f.name)
        one = dataclasses.replace(op, p=1.0)  # always on, so each picture shows it
        presets.append(
            (
                f"render: {f.name}",
                Degradations(**{g.name: None for g in dataclasses.fields(Degradations)} | {f.name: one}),
            )
        )
    presets.append(("render: default (all)", default))
    for name, degradations in presets:
        renderer = PlateRenderer(spec, degradations=degradations)
        rr = np.random.default_rng(seed + 1)
        rows.append(
            (name, [clean.render(text, np.random.default_rng(seed))] + [renderer.render(text, rr) for _ in range(n)])
        )

    h, w = rows[0][1][0].shape[:2]
    left, gap = 190, 4
    canvas = Image.new("RGB", (left + (n + 1) * (w + gap), len(rows) * (h + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = label_font(15)
    for r, (name, pictures) in enumerate(rows):
        y = gap + r * (h + gap)
        draw.text((6, y + h // 2 - 9), name, fill=(0, 0, 0), font=font)
        for c, pic in enumerate(pictures):
            canvas.paste(Image.fromarray(np.ascontiguousarray(pic)), (left + c * (w + gap), y))
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(target, optimize=True)
    what = f"{printable(image)} under PlateAugment, renders of {text}" if image else f"{text}"
    _console().print(f"augmentations of {escape(what)} (first column: the plate itself) -> {target}")
    return target


COMMANDS = {"stats": stats, "validate": validate, "augment-preview": augment_preview}
