"""The HTML report of a comparison: one self-contained file (thumbnails inline), readable in any browser
offline. Summary and verdict, per class, the images worst first as A | B | truth | disagreement, then the
whole table."""
from __future__ import annotations

import html
import math

import numpy as np

from maskwork.core.comparison import thumbnails as th
from maskwork.core.comparison.scores import SCORE_THRESHOLD, Comparison
from maskwork.core.domain.masks import Mask

SHOWN = 12  # images with thumbnails

STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}
table{border-collapse:collapse;margin:8px 0 20px}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.neg{color:#b00020}.pos{color:#1b7f2a}
.shots{display:flex;gap:6px;align-items:flex-start}.shots figure{margin:0}.shots figcaption{font-size:12px;color:#555}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px;margin:10px 0}.verdict{font-size:16px;font-weight:600}"""


def _f(v) -> str:
    return "&ndash;" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def _diff_cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "<td>&ndash;</td>"
    return f'<td class="{"neg" if v < 0 else "pos" if v > 0 else ""}">{v:+.4f}</td>'


def _layers(task: str, item, pred_a: dict, pred_b: dict, classes):
    """(A picture, B picture, truth picture or None, disagreement picture) of one image."""
    rgb = item.image()
    if task == "semantic":
        la, lb = pred_a["label_map"], pred_b["label_map"]
        truth = th.semantic_overlay(rgb, item.label_map(), classes) if item.label_map is not None else None
        return (th.semantic_overlay(rgb, la, classes), th.semantic_overlay(rgb, lb, classes), truth,
                th.disagreement_overlay(rgb, la != lb))

    def shown(records):
        return [Mask.from_rle(r["segmentation"]) for r in records if r["score"] >= SCORE_THRESHOLD]

    ma, mb = shown(pred_a["detections"]), shown(pred_b["detections"])
    union = np.zeros(rgb.shape[:2], bool), np.zeros(rgb.shape[:2], bool)
    for m in ma:
        union[0][m.to_full()] = True
    for m in mb:
        union[1][m.to_full()] = True
    truth = None
    if item.instances is not None:
        t = item.instances()
        truth = th.instance_overlay(rgb, [Mask.from_full(m) for m in t.masks])
    return (th.instance_overlay(rgb, ma), th.instance_overlay(rgb, mb), truth,
            th.disagreement_overlay(rgb, union[0] ^ union[1]))


def render_html(c: Comparison, evaluations, predictions, sort: str = "disagreement", shown: int = SHOWN) -> str:
    ev_a = evaluations[0]
    index = {it.name: k for k, it in enumerate(ev_a.items)}
    e = html.escape
    o = c.overall
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Maskwork: {e(c.a_label)} vs "
             f"{e(c.b_label)}</title><style>{STYLE}</style></head><body>",
             f"<h1>A: {e(c.a_label)} &nbsp;vs&nbsp; B: {e(c.b_label)}</h1>",
             f"<p>{e(c.data)}: {len(c.rows)} images, {o['images_with_truth']} with truth. {e(c.task)} models, "
             f"scored by {e(c.metric)}.</p>",
             f"<div class='card'><div class='verdict'>{e(o['verdict'])}</div>"
             f"<p>{e(c.metric)}: A {_f(o.get('a'))}, B {_f(o.get('b'))}, B &minus; A {_f(o.get('diff'))}</p>"]
    parts += [f"<p>{e(n)}</p>" for n in c.notes]
    parts.append("</div>")
    if c.per_class:
        parts.append(f"<h2>Per class ({e(c.class_metric)})</h2><table><tr><th>class</th><th>A</th><th>B</th>"
                     "<th>B &minus; A</th><th>95% interval</th></tr>")
        for p in c.per_class:
            iv = p.get("interval")
            parts.append(f"<tr><td>{e(str(p['class']))}</td><td>{_f(p['a'])}</td><td>{_f(p['b'])}</td>"
                         f"{_diff_cell(p['diff'])}<td>{'[%+.4f, %+.4f]' % tuple(iv) if iv else '&ndash;'}</td></tr>")
        parts.append("</table>")
    order = c.sorted_rows(sort)
    label = {"disagreement": "where A and B disagree most", "difference": "where B loses most to A"}.get(sort, sort)
    parts.append(f"<h2>The {min(shown, len(order))} images {e(label)}</h2>")
    for r in order[:shown]:
        k = index[r.image]
        pics = _layers(c.task, ev_a.items[k], predictions[0][k], predictions[1][k], ev_a.data.classes)
        caps = ("A", "B", "truth", "disagreement")
        figs = "".join(f"<figure><img src='{th.png_data_uri(p)}' alt='{cap}'><figcaption>{cap}</figcaption></figure>"
                       for p, cap in zip(pics, caps) if p is not None)
        parts.append(f"<div class='card'><b>{e(r.image)}</b> &nbsp; A {_f(r.a)} &nbsp; B {_f(r.b)} &nbsp; "
                     f"disagreement {r.disagreement:.3f}<div class='shots'>{figs}</div></div>")
    parts.append(f"<h2>Every image (by {e(sort)})</h2><table><tr><th>image</th><th>A</th><th>B</th>"
                 "<th>B &minus; A</th><th>disagreement</th><th>A ms</th><th>B ms</th></tr>")
    for r in order:
        parts.append(f"<tr><td>{e(r.image)}</td><td>{_f(r.a)}</td><td>{_f(r.b)}</td>{_diff_cell(r.diff)}"
                     f"<td>{r.disagreement:.4f}</td><td>{r.a_ms:.1f}</td><td>{r.b_ms:.1f}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)

