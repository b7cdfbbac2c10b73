"""``index.html`` in a run folder: the run at a glance in any browser, with no server.

:func:`write_run_page` (re)writes the page from what the folder holds: the loss plot(s), the latest sample grid of
each kind large and the earlier ones small, newest first, plus the tables it is given (validation metrics, the
run's options, timing). It is called at each summary by the training loops (Pix2Pix's and
:class:`~tinygan.training.diagnostics.TrainingSession`'s), written to a temporary file and moved into place, so
a browser never reads half a page. While the run goes on the page reloads itself every 30 seconds.

The page only links files of its own folder (relative names), so the folder can be copied or served as it is.
"""
import html
import os
import re
import time

PAGE = "index.html"
LOSS_PLOTS = ("losses.png", "plot_line_plot_loss.png")
EARLIER = 12  # earlier grids shown per kind

_NUMBER = re.compile(r"(\d+)(?=\D*$)")


def _image_groups(out_dir):
    """{kind: [(step, filename), ...]} of the folder's PNGs other than the loss plots, each sorted by step;
    ``kind`` is the file name with its last number replaced by ``N`` (``plot_NNNNNN.png``...)."""
    groups = {}
    for name in os.listdir(out_dir):
        if not name.lower().endswith(".png") or name in LOSS_PLOTS or name.startswith(".") or ".tmp" in name:
            continue
        m = _NUMBER.search(name)
        step = int(m.group(1)) if m else -1
        kind = _NUMBER.sub(lambda mm: "N" * len(mm.group(1)), name) if m else name
        groups.setdefault(kind, []).append((step, name))
    return {k: sorted(v) for k, v in sorted(groups.items())}


def _img(out_dir, name, cls, caption=None):
    version = int(os.path.getmtime(os.path.join(out_dir, name)))
    src = html.escape(name, quote=True)
    cap = html.escape(caption or name)
    return (f'<figure class="{cls}"><a href="{src}"><img src="{src}?v={version}" alt="{cap}"></a>'
            f"<figcaption>{cap}</figcaption></figure>")


def _value(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _table(title, rows):
    if not rows:
        return ""
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_value(v))}</td></tr>"
                   for k, v in rows.items() if not isinstance(v, dict))
    return f"<section><h2>{html.escape(title)}</h2><table>{body}</table></section>"


STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.4em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:.9em}
th{background:#f4f4f4;font-weight:normal}figure{display:inline-block;margin:4px;vertical-align:top}
figcaption{font-size:.8em;color:#555}.large img{max-width:100%}.small img{width:160px}
.tables{display:flex;flex-wrap:wrap;gap:2em}"""


def render_run_page(out_dir, title, options=None, metrics=None, timing=None, running=False):
    """The page's HTML (see :func:`write_run_page`)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             '<meta http-equiv="refresh" content="30">' if running else "",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>{html.escape(os.path.abspath(out_dir))} &middot; updated {time.strftime('%Y-%m-%d %H:%M:%S')}"
             f"{' &middot; running (this page reloads every 30 s)' if running else ''}</p>",
             '<div class="tables">', _table("Timing", timing or {}), _table("Validation and metrics", metrics or {}),
             _table("Options", options or {}), "</div>"]
    losses = [n for n in LOSS_PLOTS if os.path.exists(os.path.join(out_dir, n))]
    if losses:
        parts.append("<section><h2>Losses</h2>" + "".join(_img(out_dir, n, "large") for n in losses) + "</section>")
    for kind, items in _image_groups(out_dir).items():
        (last_step, last), earlier = items[-1], items[:-1][::-1][:EARLIER]
        parts.append(f"<section><h2>{html.escape(kind)}</h2>" + _img(out_dir, last, "large", f"latest: {last}"))
        if earlier:
            parts.append("<div>" + "".join(_img(out_dir, n, "small") for _, n in earlier) + "</div>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_run_page(out_dir, title, options=None, metrics=None, timing=None, running=False):
    """(Re)write ``out_dir/index.html`` atomically; returns its path. Never raises for a write problem: the page
    must not stop a run (a failed write leaves the previous page)."""
    path = os.path.join(out_dir, PAGE)
    tmp = os.path.join(out_dir, f".{PAGE}.tmp-{os.getpid()}")
    try:
        text = render_run_page(out_dir, title, options, metrics, timing, running)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.remove(tmp)
        return None
    return path
