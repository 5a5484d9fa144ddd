"""The inspection page: one self-contained HTML file (no external resources, data embedded).

Each character of a passage is coloured by the activation of a chosen cell (``tanh(c)`` or
``h``; red positive, blue negative); a list opens on the cells that track simple features of
the text best, and layer / kind / cell controls reach any other cell. Hovering a character shows
the activation and the model's five likeliest next characters. Figures (gate saturation, the
feature correlations) are embedded as PNG data.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

import numpy as np

_KIND_NAMES = {"tanh_c": "tanh(c)", "h": "h"}

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.2em;color:#222;max-width:1100px}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}
#controls{display:flex;flex-wrap:wrap;gap:.8em;align-items:center;margin:.6em 0}
#text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;line-height:1.45;
white-space:pre-wrap;word-break:break-all;border:1px solid #ccc;padding:.6em;
max-height:34em;overflow:auto}
#text span{cursor:default}
#tip{position:fixed;display:none;background:#fff;border:1px solid #888;padding:.35em .5em;
font:12px ui-monospace,monospace;box-shadow:2px 2px 6px #0003;pointer-events:none;z-index:9}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.15em .6em;text-align:left}
tr.pick{cursor:pointer}tr.pick:hover{background:#eef}img{max-width:100%}
.note{color:#555;font-size:.9em}
"""

_JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
function decode(b64) {
  const s = atob(b64), a = new Int8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = (s.charCodeAt(i) << 24) >> 24;
  return a;
}
const ACTS = {};
for (const k of D.kinds) ACTS[k] = decode(D.acts[k]);
const P = D.passage.length, H = D.hidden;
const textEl = document.getElementById("text"), tip = document.getElementById("tip");
const spans = [];
const frag = document.createDocumentFragment();
for (let t = 0; t < P; t++) {
  const s = document.createElement("span");
  const ch = D.passage[t];
  s.textContent = ch === "\n" ? "\u21b5\n" : ch;
  s.dataset.t = String(t);
  spans.push(s);
  frag.appendChild(s);
}
textEl.appendChild(frag);
const sel = {layer: 0, kind: D.kinds[0], cell: 0};
function value(t) {
  return ACTS[sel.kind][(sel.layer * H + sel.cell) * P + t] / 127;
}
function colour(v) {
  const a = Math.min(Math.abs(v), 1);
  return v >= 0 ? `rgba(220,40,30,${a.toFixed(3)})` : `rgba(30,90,220,${a.toFixed(3)})`;
}
function paint() {
  for (let t = 0; t < P; t++) spans[t].style.backgroundColor = colour(value(t));
  document.getElementById("layer").value = String(sel.layer);
  document.getElementById("kind").value = sel.kind;
  document.getElementById("cell").value = String(sel.cell);
  const r = D.corr[sel.kind][sel.layer][sel.cell];
  const parts = D.features.map((f, i) => `${f} ${r[i].toFixed(2)}`);
  document.getElementById("corr").textContent = "r with: " + parts.join(", ");
}
function show(s) {
  if (!s.layer && s.layer !== 0) return;
  sel.layer = s.layer; sel.kind = s.kind; sel.cell = s.cell;
  paint();
}
const pick = document.getElementById("pick");
D.best.forEach((b, i) => {
  const o = document.createElement("option");
  o.value = String(i);
  o.textContent = `layer ${b.layer + 1}, cell ${b.cell}, ${D.kindNames[b.kind]}: ` +
    `${b.feature} (r = ${b.r.toFixed(2)})`;
  pick.appendChild(o);
});
pick.addEventListener("change", () => show(D.best[Number(pick.value)]));
for (const id of ["layer", "kind", "cell"]) {
  document.getElementById(id).addEventListener("change", () => {
    sel.layer = Number(document.getElementById("layer").value);
    sel.kind = document.getElementById("kind").value;
    sel.cell = Math.max(0, Math.min(H - 1, Number(document.getElementById("cell").value) || 0));
    paint();
  });
}
document.querySelectorAll("tr.pick").forEach((tr) => {
  tr.addEventListener("click", () => {
    const i = Number(tr.dataset.i);
    pick.value = String(i);
    show(D.best[i]);
  });
});
function shownChar(c) {
  return c === "\n" ? "\u21b5" : c === " " ? "\u2423" : c === "\t" ? "\u21e5" : c;
}
textEl.addEventListener("mousemove", (ev) => {
  const s = ev.target;
  if (!s.dataset || s.dataset.t === undefined) { tip.style.display = "none"; return; }
  const t = Number(s.dataset.t);
  const rows = D.top[t].map(([c, p]) => `${shownChar(D.vocab[c])}  ${(100 * p).toFixed(1)}%`);
  tip.textContent = `activation ${value(t).toFixed(3)}\nnext:\n` + rows.join("\n");
  tip.style.whiteSpace = "pre";
  tip.style.display = "block";
  tip.style.left = (ev.clientX + 14) + "px";
  tip.style.top = (ev.clientY + 14) + "px";
});
textEl.addEventListener("mouseleave", () => { tip.style.display = "none"; });
if (D.best.length) show(D.best[0]); else paint();
document.body.dataset.rendered = String(spans.length);
"""


def _b64_int8(a: np.ndarray) -> str:
    q = np.clip(np.rint(np.asarray(a, dtype=np.float64) * 127), -127, 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def inspect_html(
    cells: Any,
    vocab_chars: list[str],
    *,
    title: str,
    info: str = "",
    images: dict[str, bytes] | None = None,
) -> str:
    """The page for a :class:`rnnlab.text.inspect.CellRun` ``cells``.

    ``vocab_chars``: the symbol of each index (index 0 the reserved one); ``images``: caption
    -> PNG bytes, embedded as data URIs below the text.
    """
    L, H = cells.layers, cells.hidden
    data = {
        "passage": cells.passage,
        "hidden": H,
        "layers": L,
        "kinds": list(cells.acts),
        "kindNames": _KIND_NAMES,
        "acts": {k: _b64_int8(v) for k, v in cells.acts.items()},  # (L, H, P) int8 / 127
        "corr": {  # kind -> [layer][cell][feature]
            k: np.round(np.transpose(v, (1, 2, 0)), 3).tolist() for k, v in cells.corr.items()
        },
        "features": list(cells.features),
        "best": cells.best,
        "vocab": vocab_chars,
        "top": [
            [[int(c), round(float(p), 4)] for c, p in zip(ci, pi)]
            for ci, pi in zip(cells.top_idx, cells.top_p)
        ],
    }
    payload = json.dumps(data, ensure_ascii=True).replace("</", "<\\/")
    rows = "".join(
        f'<tr class="pick" data-i="{i}"><td>{b["layer"] + 1}</td><td>{b["cell"]}</td>'
        f"<td>{_KIND_NAMES[b['kind']]}</td><td>{html.escape(b['feature'])}</td>"
        f"<td>{b['r']:+.3f}</td></tr>"
        for i, b in enumerate(cells.best)
    )
    layer_opts = "".join(f'<option value="{k}">{k + 1}</option>' for k in range(L))
    kind_opts = "".join(f'<option value="{k}">{_KIND_NAMES[k]}</option>' for k in cells.acts)
    figs = "".join(
        f'<h2>{html.escape(cap)}</h2><img alt="{html.escape(cap)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for cap, png in (images or {}).items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="note">{html.escape(info)}</p>
<div id="controls">
<label>telling cells <select id="pick"></select></label>
<label>layer <select id="layer">{layer_opts}</select></label>
<label>activation <select id="kind">{kind_opts}</select></label>
<label>cell <input id="cell" type="number" min="0" max="{H - 1}" value="0"
style="width:5em"></label>
<span id="corr" class="note"></span>
</div>
<div id="text"></div>
<div id="tip"></div>
<p class="note">Red: positive activation, blue: negative (intensity = |value|, in [-1, 1]).
Hover a character for the activation there and the five likeliest next characters.</p>
<h2>Cells that track simple features of the text</h2>
<p class="note">Pearson r over {cells.chars:,} characters; click a row to show the cell.</p>
<table><tr><th>layer</th><th>cell</th><th>activation</th><th>feature</th><th>r</th></tr>
{rows}</table>
{figs}
<script type="application/json" id="data">{payload}</script>
<script>{_JS}</script>
</body></html>
"""
