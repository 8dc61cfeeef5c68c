// The hidden-state explorer of transformer_keras (transformer_keras.analysis.explore).
// Reads the JSON in #explorer-meta and the base64 blobs #blob-<id>, draws five views:
// head view and model view of attention, hidden states (PCA, norms, cosines), probes and
// the logit lens. `window.explorer` exposes the state and what was last drawn (for tests).
"use strict";
(function () {
  // ------------------------------------------------------------------ helpers
  const $ = (selector) => document.querySelector(selector);

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function svg(tag, attributes, children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function showError(message) {
    const box = $("#error");
    box.hidden = false;
    box.textContent += (box.textContent ? "\n" : "") + "The explorer failed: " + message;
  }
  window.addEventListener("error", (event) => showError(event.message));
  window.addEventListener("unhandledrejection", (event) => showError(String(event.reason)));

  // Token texts as shown: an empty text as ∅, white space made visible.
  function show(text) {
    if (text === "") return "\u2205";
    if (text.trim() === "") {
      return text.replace(/ /g, "\u2423").replace(/\n/g, "\u23ce").replace(/\t/g, "\u21e5");
    }
    return text.replace(/\n/g, "\u23ce");
  }

  const fixed = (value, digits) =>
    value === null || value === undefined || Number.isNaN(value) ? "\u2013" : value.toFixed(digits);

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31",
    "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1"];
  const colour = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
  function headColour(h) {
    return h < 12 ? PALETTE[h] : `hsl(${(h * 137.5) % 360}, 60%, 45%)`;
  }
  function rgb(hex) {
    if (hex.startsWith("hsl")) {
      const probe = document.createElement("canvas").getContext("2d");
      probe.fillStyle = hex;
      hex = probe.fillStyle;
    }
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  // Heat-map colour of a weight in [0, 1]: white to dark blue, red channel = 255 * (1 - w).
  function heat(w) {
    const v = Math.min(1, Math.max(0, w));
    return [Math.round(255 * (1 - v)), Math.round(255 * (1 - 0.62 * v)), Math.round(255 - 95 * v)];
  }
  function hashText(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h >>> 0;
  }

  // ------------------------------------------------------------------ data
  const META = JSON.parse($("#explorer-meta").textContent);
  const SCALE = META.attention_scale;
  const TYPES = { u8: Uint8Array, i32: Int32Array, f32: Float32Array };
  const decoded = new Map();

  function base64Bytes(text) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer();
  }

  // The arrays of one blob, decoded once: {name: {data: TypedArray, shape: [...]}}.
  function blob(id) {
    if (!decoded.has(id)) {
      decoded.set(id, (async () => {
        const node = document.getElementById("blob-" + id);
        if (!node) throw new Error(`the data of ${id} is missing from the file`);
        const buffer = await inflate(base64Bytes(node.textContent.trim()));
        const arrays = {};
        for (const [name, [offset, type, shape]] of Object.entries(META.blobs[id].arrays)) {
          const size = shape.reduce((a, b) => a * b, 1);
          arrays[name] = { data: new TYPES[type](buffer, offset, size), shape };
        }
        return arrays;
      })());
    }
    return decoded.get(id);
  }

  const examples = META.examples;
  const groups = META.attention;
  const lens = META.lens;
  const stacks = META.stacks;

  // ------------------------------------------------------------------ state
  const tabs = [
    ["head", "Head view"],
    ["model", "Model view"],
    ["hidden", "Hidden states"],
  ];
  if (META.labels.length) tabs.push(["probes", "Probes"]);
  tabs.push(["lens", "Logit lens"]);
  tabs.push(["about", "About the data"]);

  const state = {
    tab: "head",
    example: 0,
    group: 0,
    layer: 0,
    heads: null, // null: every head
    query: null, // locked query position (index among real tokens)
    stack: 0,
    colour: META.labels.length ? "label:0" : "token",
    only: false,
    follow: null, // {example, index}: the token followed across layers
    lensCell: null, // [layer, index]
    lensColour: "top",
  };
  const drawn = {};
  let renders = 0;
  let pending = Promise.resolve();

  function selectedHeads(count) {
    if (state.heads === null) return [...Array(count).keys()];
    const heads = state.heads.filter((h) => h < count);
    return heads.length ? heads : [...Array(count).keys()];
  }

  function render() {
    pending = pending.then(draw).catch((error) => showError(error.stack || String(error)));
    return pending;
  }

  async function draw() {
    for (const [name] of tabs) {
      $("#view-" + name).hidden = name !== state.tab;
      const button = document.querySelector(`#tabs button[data-tab="${name}"]`);
      button.classList.toggle("active", name === state.tab);
    }
    $("#example").value = String(state.example);
    const arrays = await blob(examples[state.example].blob);
    const shared = await blob(META.global_blob);
    const started = performance.now();
    ({ head: drawHead, model: drawModel, hidden: drawHidden, probes: drawProbes,
      lens: drawLens, about: drawAbout })[state.tab](arrays, shared);
    renders += 1;
    const now = performance.now();
    if (!window.explorer.timings.firstView) window.explorer.timings.firstView = now;
    window.explorer.timings.lastDraw = now - started;
    document.body.dataset.renders = String(renders);
  }

  // ------------------------------------------------------------------ header
  function buildHeader() {
    $("#title").textContent = META.title;
    const layers = stacks.map((s) => `${s.layers.length - 1} ${s.kind} blocks`).join(" + ");
    const heads = groups.length ? groups[0].layers[0].heads : 0;
    $("#summary").textContent =
      `${META.model.name}: ${META.model.kind}, ${layers}, ${heads} heads, width ` +
      `${stacks.map((s) => s.width).join("/")}, ${META.model.parameters.toLocaleString("en")} ` +
      `parameters; ${examples.length} example${examples.length === 1 ? "" : "s"}.`;
    const select = $("#example");
    examples.forEach((example, e) => {
      const labels = META.labels.map((p, i) => p.classes[example.labels[i]]).join(", ");
      const text = `${e}: ${example.title}${labels ? "  [" + labels + "]" : ""}`;
      select.append(el("option", { value: e, text }));
    });
    select.addEventListener("change", () => {
      state.example = Number(select.value);
      state.query = null;
      state.lensCell = null;
      render();
    });
    for (const [name, label] of tabs) {
      $("#tabs").append(el("button", {
        "data-tab": name, text: label,
        onclick: () => { state.tab = name; render(); },
      }));
    }
    for (const id of ["#head-group", "#model-group"]) {
      const select = $(id);
      groups.forEach((g, i) => select.append(el("option", { value: i, text: g.name })));
      select.addEventListener("change", () => {
        state.group = Number(select.value);
        state.layer = Math.min(state.layer, groups[state.group].layers.length - 1);
        state.query = null;
        render();
      });
    }
    const stackSelect = $("#hidden-stack");
    stacks.forEach((s, i) => stackSelect.append(el("option", { value: i, text: s.kind })));
    $("#hidden-stack-label").hidden = stacks.length < 2;
    stackSelect.addEventListener("change", () => {
      state.stack = Number(stackSelect.value);
      state.follow = null;
      render();
    });
    const colourSelect = $("#hidden-colour");
    META.labels.forEach((p, i) => colourSelect.append(el("option", { value: "label:" + i, text: "label: " + p.name })));
    for (const [value, text] of [["token", "token"], ["position", "position"], ["example", "example"]]) {
      colourSelect.append(el("option", { value, text }));
    }
    colourSelect.value = state.colour;
    colourSelect.addEventListener("change", () => { state.colour = colourSelect.value; render(); });
    $("#hidden-only").addEventListener("change", (event) => { state.only = event.target.checked; render(); });
    $("#lens-colour").addEventListener("change", (event) => { state.lensColour = event.target.value; render(); });
  }

  // ------------------------------------------------------------------ head view
  const ROW = 18;
  // Lines of weight below 0.02 are not drawn (at that opacity they cannot be seen); the heat
  // map and the read-out show every weight.
  const MIN_LINE_CODE = Math.ceil(0.02 * SCALE);

  // Draws straight lines from the left edge (height y0) to the right edge (y1) of a canvas
  // `width` x `height` CSS pixels: `segments` holds [y0, y1, r, g, b, alpha] per line. Its own
  // rasteriser, a few hundred milliseconds for 200,000 lines where the canvas' stroke takes
  // tens of seconds without a GPU: each column of a line gets the ink of a 1.4-pixel-thick
  // line, spread over the rows it crosses; colours mix by their alphas, which add up to 1.
  function rasterLines(canvas, width, height, ratio, segments) {
    const W = Math.max(1, Math.round(width * ratio));
    const H = Math.max(1, Math.round(height * ratio));
    canvas.width = W;
    canvas.height = H;
    const ink = new Float32Array(W * H * 4);
    const thickness = 1.4 * ratio;
    for (let n = 0; n < segments.length; n += 6) {
      const y0 = segments[n] * ratio;
      const slope = (segments[n + 1] * ratio - y0) / W;
      const [r, g, b, a] = [segments[n + 2], segments[n + 3], segments[n + 4], segments[n + 5]];
      const thick = thickness * Math.sqrt(1 + slope * slope);
      const half = (thick + Math.abs(slope)) / 2;
      const density = (a * thick) / (2 * half);
      for (let x = 0; x < W; x++) {
        const centre = y0 + slope * (x + 0.5);
        const top = centre - half;
        const bottom = centre + half;
        const last = Math.min(H - 1, Math.floor(bottom));
        for (let row = Math.max(0, Math.floor(top)); row <= last; row++) {
          const cover = (Math.min(bottom, row + 1) - Math.max(top, row)) * density;
          const i = (row * W + x) * 4;
          ink[i] += cover * r;
          ink[i + 1] += cover * g;
          ink[i + 2] += cover * b;
          ink[i + 3] += cover;
        }
      }
    }
    const image = new ImageData(W, H);
    for (let p = 0; p < W * H; p++) {
      const alpha = ink[4 * p + 3];
      if (alpha <= 0) continue;
      image.data[4 * p] = ink[4 * p] / alpha;
      image.data[4 * p + 1] = ink[4 * p + 1] / alpha;
      image.data[4 * p + 2] = ink[4 * p + 2] / alpha;
      image.data[4 * p + 3] = 255 * Math.min(1, alpha);
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
    return image;
  }

  function attention(arrays, g, layer) {
    return arrays[`attention/${g}/${layer}`]; // {data: Uint8Array, shape: [heads, queries, keys]}
  }

  function drawHead(arrays) {
    const group = groups[state.group];
    $("#head-group").value = String(state.group);
    const example = examples[state.example];
    const queries = example.stacks[group.query].tokens;
    const keys = example.stacks[group.key].tokens;
    const map = attention(arrays, state.group, state.layer);
    const [count, nq, nk] = map.shape;
    const heads = selectedHeads(count);

    const layerBar = $("#head-layers");
    layerBar.replaceChildren(el("span", { class: "label", text: "Layer" }));
    group.layers.forEach((layer, l) => layerBar.append(el("button", {
      "data-layer": l, text: String(l), title: layer.block,
      class: l === state.layer ? "active" : "",
      onclick: () => { state.layer = l; render(); },
    })));
    const headBar = $("#head-heads");
    headBar.replaceChildren(el("span", { class: "label", text: "Heads" }));
    for (let h = 0; h < count; h++) {
      headBar.append(el("button", {
        "data-head": h, text: String(h), style: `--c: ${headColour(h)}`,
        class: "head" + (heads.includes(h) && state.heads !== null ? " active" : ""),
        onclick: (event) => {
          if (event.shiftKey) {
            const set = new Set(state.heads === null ? [...Array(count).keys()] : state.heads);
            set.has(h) ? set.delete(h) : set.add(h);
            state.heads = set.size ? [...set].sort((a, b) => a - b) : null;
          } else {
            state.heads = [h];
          }
          render();
        },
      }));
    }
    headBar.append(el("button", {
      id: "head-all", text: "all", class: state.heads === null ? "active" : "",
      onclick: () => { state.heads = null; render(); },
    }));

    const left = $("#head-left");
    const right = $("#head-right");
    left.replaceChildren(...queries.map((text, i) => el("div", {
      class: "tok" + (state.query === i ? " locked" : ""), "data-pos": i, text: show(text),
      onmouseenter: () => linesFor({ query: i }),
      onmouseleave: () => linesFor(null),
      onclick: () => { state.query = state.query === i ? null : i; render(); },
    })));
    right.replaceChildren(...keys.map((text, j) => el("div", {
      class: "tok", "data-pos": j, text: show(text),
      onmouseenter: () => linesFor({ key: j }),
      onmouseleave: () => linesFor(null),
    })));

    const canvas = $("#head-canvas");
    const width = 180;
    const height = Math.max(nq, nk) * ROW;
    const ratio = window.devicePixelRatio || 1;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    const colours = heads.map((h) => rgb(headColour(h)));
    let unfocused = null; // the image of every line, kept for when the pointer leaves a token

    function linesFor(focus) {
      const active = focus || (state.query !== null ? { query: state.query } : null);
      for (const node of left.children) node.classList.toggle("focus", !!active && active.query === Number(node.dataset.pos));
      for (const node of right.children) node.classList.toggle("focus", !!active && active.key === Number(node.dataset.pos));
      if (!active && unfocused) {
        canvas.getContext("2d").putImageData(unfocused, 0, 0);
        drawn.lines = { focus: null, count: unfocused.lines };
        return;
      }
      const rows = active && active.query !== undefined ? [active.query] : [...Array(nq).keys()];
      const cols = active && active.key !== undefined ? [active.key] : [...Array(nk).keys()];
      const segments = [];
      heads.forEach((h, index) => {
        const base = h * nq * nk;
        const [r, g, b] = colours[index];
        for (const i of rows) {
          for (const j of cols) {
            const code = map.data[base + i * nk + j];
            if (code < MIN_LINE_CODE) continue;
            segments.push((i + 0.5) * ROW, (j + 0.5) * ROW, r, g, b, code / SCALE);
          }
        }
      });
      const image = rasterLines(canvas, width, height, ratio, segments);
      image.lines = segments.length / 6;
      if (!active) unfocused = image;
      drawn.lines = { focus: active, count: image.lines };
    }
    linesFor(null);

    // Heat map of the selected heads' mean weights (one head: its weights).
    const matrix = new Float64Array(nq * nk);
    for (const h of heads) {
      const base = h * nq * nk;
      for (let c = 0; c < nq * nk; c++) matrix[c] += map.data[base + c] / SCALE;
    }
    for (let c = 0; c < nq * nk; c++) matrix[c] /= heads.length;
    const cell = Math.max(2, Math.min(24, Math.floor(380 / Math.max(nq, nk))));
    const heatCanvas = $("#head-matrix");
    const origin = paintMatrix(heatCanvas, matrix, nq, nk, cell, { rows: queries, cols: keys });
    $("#head-matrix-title").textContent =
      `${group.name}, layer ${state.layer} (${group.layers[state.layer].block}), ` +
      (heads.length === 1 ? `head ${heads[0]}` : `mean of ${heads.length} heads`) +
      ": queries down, keys across";
    heatCanvas.onmousemove = (event) => {
      const box = heatCanvas.getBoundingClientRect();
      const j = Math.floor((event.clientX - box.left - origin[0]) / cell);
      const i = Math.floor((event.clientY - box.top - origin[1]) / cell);
      if (i < 0 || j < 0 || i >= nq || j >= nk) return;
      $("#head-hover").textContent =
        `query ${i} "${show(queries[i])}" \u2192 key ${j} "${show(keys[j])}": ` +
        fixed(matrix[i * nk + j], 3);
    };
    heatCanvas.onmouseleave = () => { $("#head-hover").textContent = ""; };
    $("#head-hover").textContent = "";

    // The weights of the locked query, one column per selected head.
    const readout = $("#head-readout");
    readout.replaceChildren();
    if (state.query !== null && state.query < nq) {
      const i = state.query;
      const header = el("tr", {}, [el("th", { class: "text", text: "key" }),
        ...heads.map((h) => el("th", { text: "head " + h, style: `color: ${headColour(h)}` }))]);
      const best = new Set(heads.map((h) => {
        let top = 0;
        for (let j = 1; j < nk; j++) if (map.data[h * nq * nk + i * nk + j] > map.data[h * nq * nk + i * nk + top]) top = j;
        return top;
      }));
      const rows = keys.map((text, j) => el("tr", { "data-key": j, class: best.has(j) ? "top" : "" }, [
        el("td", { class: "text", text: `${j} ${show(text)}` }),
        ...heads.map((h) => el("td", { "data-head": h, text: fixed(map.data[h * nq * nk + i * nk + j] / SCALE, 3) })),
      ]));
      readout.append(
        el("h3", { text: `Attention of query ${i} "${show(queries[i])}" (steps of ${fixed(1 / SCALE, 3)})` }),
        el("table", { class: "weights", id: "head-weights" }, [el("thead", {}, [header]), el("tbody", {}, rows)]));
    }

    const weights = {};
    for (const h of heads) {
      weights[h] = Array.from(map.data.subarray(h * nq * nk, (h + 1) * nq * nk), (code) => code / SCALE);
    }
    drawn.head = {
      example: state.example, group: state.group, layer: state.layer, heads, queries: nq,
      keys: nk, weights, cell, origin,
    };
  }

  // Draws a (rows x cols) matrix of weights in [0, 1] at `cell` pixels per entry, with the
  // row and column labels in a margin when given and the cells are large enough to read
  // them. Returns the position of the first cell, [x, y].
  function paintMatrix(canvas, matrix, rows, cols, cell, labels) {
    const image = new ImageData(cols, rows);
    for (let c = 0; c < rows * cols; c++) {
      const [r, g, b] = heat(matrix[c]);
      image.data[4 * c] = r;
      image.data[4 * c + 1] = g;
      image.data[4 * c + 2] = b;
      image.data[4 * c + 3] = 255;
    }
    const source = document.createElement("canvas");
    source.width = cols;
    source.height = rows;
    source.getContext("2d").putImageData(image, 0, 0);
    const margin = labels && cell >= 10 ? 90 : 0;
    canvas.width = margin + cols * cell;
    canvas.height = margin + rows * cell;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(source, margin, margin, cols * cell, rows * cell);
    if (margin) {
      const clip = (text) => (text.length > 12 ? text.slice(0, 11) + "\u2026" : text);
      context.fillStyle = "#1d2330";
      context.font = `${Math.min(12, cell - 2)}px ui-monospace, monospace`;
      context.textBaseline = "middle";
      context.textAlign = "right";
      labels.rows.forEach((text, i) => context.fillText(clip(show(text)), margin - 4, margin + (i + 0.5) * cell));
      context.save();
      context.rotate(-Math.PI / 2);
      context.textAlign = "left";
      labels.cols.forEach((text, j) => context.fillText(clip(show(text)), -margin + 4, margin + (j + 0.5) * cell));
      context.restore();
    }
    return [margin, margin];
  }

  // ------------------------------------------------------------------ model view
  function drawModel(arrays) {
    const group = groups[state.group];
    $("#model-group").value = String(state.group);
    const grid = $("#model-grid");
    const heads = Math.max(...group.layers.map((layer) => layer.heads));
    const size = heads > 12 ? 56 : 72;
    grid.style.gridTemplateColumns = `max-content repeat(${heads}, ${size + 2}px)`;
    const cells = [el("div")];
    for (let h = 0; h < heads; h++) cells.push(el("div", { class: "col-label", text: "head " + h }));
    const thumbs = [];
    group.layers.forEach((layer, l) => {
      cells.push(el("div", { class: "row-label", text: `layer ${l}`, title: layer.block }));
      const map = attention(arrays, state.group, l);
      const [count, nq, nk] = map.shape;
      for (let h = 0; h < heads; h++) {
        if (h >= count) { cells.push(el("div")); continue; }
        const canvas = el("canvas", {
          class: "thumb", "data-layer": l, "data-head": h, title: `layer ${l}, head ${h}`,
          onclick: () => {
            state.tab = "head"; state.layer = l; state.heads = [h]; state.query = null;
            render();
          },
        });
        const matrix = new Float64Array(nq * nk);
        for (let c = 0; c < nq * nk; c++) matrix[c] = map.data[h * nq * nk + c] / SCALE;
        const cell = Math.max(1, Math.floor(size / Math.max(nq, nk)));
        paintMatrix(canvas, matrix, nq, nk, cell);
        canvas.style.width = size + "px";
        canvas.style.height = size + "px";
        cells.push(canvas);
        thumbs.push([l, h]);
      }
    });
    grid.replaceChildren(...cells);
    drawn.model = { example: state.example, group: state.group, thumbs: thumbs.length };
  }

  // ------------------------------------------------------------------ hidden states
  function exampleOf(offsets, index) {
    let low = 0;
    let high = offsets.length - 2;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (offsets[middle] <= index) low = middle; else high = middle - 1;
    }
    return low;
  }

  function pointColour(stack, e, i) {
    const mode = state.colour;
    const tokens = examples[e].stacks[stack];
    if (mode.startsWith("label:")) {
      const p = Number(mode.slice(6));
      return colour(examples[e].labels[p]);
    }
    if (mode === "token") {
      const key = tokens.ids ? String(tokens.ids[i]) : tokens.tokens[i];
      return colour(hashText(key));
    }
    if (mode === "position") {
      const t = tokens.tokens.length > 1 ? i / (tokens.tokens.length - 1) : 0;
      return `hsl(${260 - 220 * t}, 70%, 45%)`;
    }
    return colour(e);
  }

  function drawHidden(arrays, shared) {
    const s = state.stack;
    $("#hidden-stack").value = String(s);
    $("#hidden-colour").value = state.colour;
    $("#hidden-only").checked = state.only;
    const stack = stacks[s];
    const example = examples[state.example];
    const tokens = example.stacks[s].tokens;
    if (!state.follow || state.follow.example !== state.example) state.follow = { example: state.example, index: 0 };
    const follow = state.follow.index;

    $("#hidden-tokens").replaceChildren(...tokens.map((text, i) => el("div", {
      class: "tok" + (i === follow ? " locked" : ""), "data-pos": i, text: show(text),
      onclick: () => { state.follow = { example: state.example, index: i }; render(); },
    })));

    const pca = shared[`pca/${s}`]; // (layers, points, 2)
    const [layers, points] = pca.shape;
    const offsets = stack.offsets;
    const first = offsets[state.example];
    const panels = [];
    const size = layers > 8 ? 190 : 230;
    for (let l = 0; l < layers; l++) {
      const canvas = el("canvas", { "data-layer": l, width: size, height: size });
      const ev = stack.explained[l];
      panels.push(el("div", { class: "panel" }, [
        el("h3", { text: `${stack.layers[l]}  (PC1 ${(100 * ev[0]).toFixed(0)}%, PC2 ${(100 * ev[1]).toFixed(0)}%)` }),
        canvas,
      ]));
      let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (let p = 0; p < points; p++) {
        const x = pca.data[(l * points + p) * 2];
        const y = pca.data[(l * points + p) * 2 + 1];
        if (x < minX) minX = x; if (x > maxX) maxX = x;
        if (y < minY) minY = y; if (y > maxY) maxY = y;
      }
      const spanX = maxX - minX || 1;
      const spanY = maxY - minY || 1;
      const px = (x) => 8 + ((x - minX) / spanX) * (size - 16);
      const py = (y) => size - 8 - ((y - minY) / spanY) * (size - 16);
      const context = canvas.getContext("2d");
      const draw = (p, e, i, alpha, radius) => {
        context.globalAlpha = alpha;
        context.fillStyle = pointColour(s, e, i);
        const x = px(pca.data[(l * points + p) * 2]);
        const y = py(pca.data[(l * points + p) * 2 + 1]);
        context.fillRect(x - radius, y - radius, 2 * radius, 2 * radius);
      };
      if (!state.only) {
        for (let p = 0; p < points; p++) {
          const e = exampleOf(offsets, p);
          if (e !== state.example) draw(p, e, p - offsets[e], 0.35, 1.5);
        }
      }
      for (let i = 0; i < tokens.length; i++) draw(first + i, state.example, i, 0.95, 2.5);
      const p = first + follow;
      const x = px(pca.data[(l * points + p) * 2]);
      const y = py(pca.data[(l * points + p) * 2 + 1]);
      context.globalAlpha = 1;
      context.strokeStyle = "#000";
      context.lineWidth = 2;
      context.beginPath();
      context.arc(x, y, 6, 0, 2 * Math.PI);
      context.stroke();
      context.font = "12px system-ui";
      context.fillStyle = "#000";
      context.fillText(show(tokens[follow]), Math.min(x + 8, size - 40), Math.max(y - 8, 12));
      canvas.addEventListener("click", (event) => {
        const box = canvas.getBoundingClientRect();
        const cx = event.clientX - box.left;
        const cy = event.clientY - box.top;
        let best = -1, distance = 64;
        for (let q = 0; q < points; q++) {
          const e = exampleOf(offsets, q);
          if (state.only && e !== state.example) continue;
          const d = (px(pca.data[(l * points + q) * 2]) - cx) ** 2 + (py(pca.data[(l * points + q) * 2 + 1]) - cy) ** 2;
          if (d < distance) { distance = d; best = q; }
        }
        if (best < 0) return;
        const e = exampleOf(offsets, best);
        state.example = e;
        state.follow = { example: e, index: best - offsets[e] };
        render();
      });
    }
    const legend = el("div", { class: "legend" });
    if (state.colour.startsWith("label:")) {
      const property = META.labels[Number(state.colour.slice(6))];
      property.classes.forEach((name, c) => legend.append(el("span", { style: `--c: ${colour(c)}`, text: name })));
    }
    $("#hidden-panels").replaceChildren(legend, ...panels);

    const norms = arrays[`norms/${s}`]; // (layers, tokens)
    const cosines = arrays[`cosine/${s}`]; // (layers - 1, tokens)
    lineChart($("#hidden-norms"), norms, stack.layers, follow, 0, null);
    lineChart($("#hidden-cosine"), cosines, stack.layers.slice(1), follow, null, 1);
    const rows = stack.layers.map((name, l) => el("tr", { "data-layer": l }, [
      el("td", { class: "text", text: name }),
      el("td", { text: fixed(norms.data[l * tokens.length + follow], 3) }),
      el("td", { text: l === 0 ? "\u2013" : fixed(cosines.data[(l - 1) * tokens.length + follow], 3) }),
    ]));
    $("#hidden-readout").replaceChildren(
      el("h3", { text: `Token ${follow} "${show(tokens[follow])}"` }),
      el("table", { class: "weights", id: "hidden-table" }, [
        el("thead", {}, [el("tr", {}, [el("th", { class: "text", text: "layer" }), el("th", { text: "norm" }), el("th", { text: "cosine with previous" })])]),
        el("tbody", {}, rows),
      ]));
    drawn.hidden = { example: state.example, stack: s, follow, layers, points };
  }

  // Lines of a (layers, tokens) array over the layers: each token grey, the followed one
  // coloured, the mean dashed.
  function lineChart(node, array, names, follow, low, high) {
    const [layers, count] = array.shape;
    const width = 440, height = 230, left = 84, bottom = 48, top = 10, right = 14;
    let min = low ?? Infinity, max = high ?? -Infinity;
    for (const v of array.data) {
      if (Number.isNaN(v)) continue;
      if (low === null && v < min) min = v;
      if (high === null && v > max) max = v;
    }
    if (!(max > min)) { max = min + 1; }
    const x = (l) => left + (layers > 1 ? (l / (layers - 1)) * (width - left - right) : (width - left - right) / 2);
    const y = (v) => top + (1 - (v - min) / (max - min)) * (height - top - bottom);
    node.setAttribute("width", width);
    node.setAttribute("height", height);
    const children = [];
    for (let k = 0; k <= 4; k++) {
      const v = min + ((max - min) * k) / 4;
      children.push(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      children.push(svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", text: v.toPrecision(3) }));
    }
    names.forEach((name, l) => {
      const label = name.length > 14 ? name.slice(-14) : name;
      children.push(svg("text", { x: x(l), y: height - bottom + 14, "text-anchor": "end", transform: `rotate(-30 ${x(l)} ${height - bottom + 14})`, text: label }));
    });
    const path = (values, attributes) => {
      let d = "";
      values.forEach((v, l) => { if (!Number.isNaN(v)) d += `${d ? "L" : "M"}${x(l).toFixed(1)},${y(v).toFixed(1)}`; });
      return svg("path", { d, fill: "none", ...attributes });
    };
    const column = (t) => Array.from({ length: layers }, (_, l) => array.data[l * count + t]);
    for (let t = 0; t < count; t++) if (t !== follow) children.push(path(column(t), { stroke: "#b9bfca", "stroke-width": 1 }));
    const mean = Array.from({ length: layers }, (_, l) => {
      let sum = 0, n = 0;
      for (let t = 0; t < count; t++) { const v = array.data[l * count + t]; if (!Number.isNaN(v)) { sum += v; n++; } }
      return n ? sum / n : NaN;
    });
    children.push(path(mean, { stroke: "#555", "stroke-width": 1.5, "stroke-dasharray": "5 4" }));
    children.push(path(column(follow), { stroke: "#d62728", "stroke-width": 2.5 }));
    children.push(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: height - bottom }));
    node.replaceChildren(...children);
  }

  // ------------------------------------------------------------------ probes
  function drawProbes() {
    $("#probes-note").textContent =
      "A linear probe (standardised features, logistic regression) per layer and stack, fitted " +
      "on each example's mean-pooled real-token states, with stratified k-fold cross-validation " +
      `over the ${examples.length} examples. Dashed: the majority class (chance level). Error ` +
      "bars: one standard deviation over the folds.";
    const blocks = [];
    for (const probe of META.probes) {
      const title = el("h3", { text: `${probe.name} (${probe.classes.length} classes` + (probe.folds ? `, ${probe.folds} folds)` : ")") });
      if (probe.note) { blocks.push(el("div", {}, [title, el("p", { class: "note", text: probe.note })])); continue; }
      const names = [];
      const accuracy = [], std = [], baseline = [];
      probe.stacks.forEach((result, s) => {
        stacks[s].layers.forEach((name) => names.push(stacks.length > 1 ? `${stacks[s].kind}: ${name}` : name));
        accuracy.push(...result.accuracy); std.push(...result.std); baseline.push(...result.baseline);
      });
      const chart = svg("svg", {});
      probeChart(chart, names, accuracy, std, baseline);
      const rows = names.map((name, l) => el("tr", { "data-layer": l }, [
        el("td", { class: "text", text: name }), el("td", { text: fixed(accuracy[l], 3) }),
        el("td", { text: fixed(std[l], 3) }), el("td", { text: fixed(baseline[l], 3) })]));
      const table = el("table", { class: "weights probe-table", "data-probe": probe.name }, [
        el("thead", {}, [el("tr", {}, ["layer", "accuracy", "std", "majority class"].map((t, i) => el("th", { class: i ? "" : "text", text: t })))]),
        el("tbody", {}, rows)]);
      blocks.push(el("div", {}, [title, el("div", { class: "probe" }, [chart, table])]));
    }
    $("#probes").replaceChildren(...blocks);
    drawn.probes = { count: META.probes.length };
  }

  function probeChart(node, names, accuracy, std, baseline) {
    const width = Math.max(380, 46 * names.length + 120), height = 270, left = 90, bottom = 70, top = 26, right = 14;
    const n = names.length;
    const x = (l) => left + (n > 1 ? (l / (n - 1)) * (width - left - right - 20) + 10 : (width - left - right) / 2);
    const y = (v) => top + (1 - v) * (height - top - bottom);
    node.setAttribute("width", width);
    node.setAttribute("height", height);
    const children = [];
    for (let k = 0; k <= 5; k++) {
      const v = k / 5;
      children.push(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      children.push(svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", text: v.toFixed(1) }));
    }
    names.forEach((name, l) => {
      const label = name.length > 18 ? name.slice(-18) : name;
      children.push(svg("text", { x: x(l), y: height - bottom + 14, "text-anchor": "end", transform: `rotate(-35 ${x(l)} ${height - bottom + 14})`, text: label }));
    });
    const line = (values, attributes) => svg("path", { d: values.map((v, l) => `${l ? "L" : "M"}${x(l).toFixed(1)},${y(v).toFixed(1)}`).join(""), fill: "none", ...attributes });
    children.push(line(baseline, { stroke: "#888", "stroke-width": 1.5, "stroke-dasharray": "6 4" }));
    children.push(line(accuracy, { stroke: "#1f5fbf", "stroke-width": 2 }));
    accuracy.forEach((a, l) => {
      children.push(svg("line", { x1: x(l), x2: x(l), y1: y(Math.min(1, a + std[l])), y2: y(Math.max(0, a - std[l])), stroke: "#1f5fbf" }));
      children.push(svg("circle", { cx: x(l), cy: y(a), r: 3.5, fill: "#1f5fbf" }, [svg("title", { text: `${names[l]}: ${fixed(a, 3)}` })]));
    });
    children.push(svg("text", { x: width - right, y: 12, "text-anchor": "end", text: "\u2014 probe   - - majority class (chance)" }));
    node.replaceChildren(...children);
  }

  // ------------------------------------------------------------------ logit lens
  function drawLens(arrays) {
    const table = $("#lens-table");
    const readout = $("#lens-readout");
    if (!lens) {
      $("#lens-note").textContent = META.lens_note || "No logit lens for this model.";
      table.replaceChildren();
      readout.replaceChildren();
      drawn.lens = null;
      return;
    }
    const stack = stacks[lens.stack];
    const example = examples[state.example].stacks[lens.stack];
    const tokens = example.tokens;
    const ids = arrays["lens/ids"]; // (layers, tokens, k)
    const probs = arrays["lens/probs"];
    const nextProb = arrays["lens/next_prob"]; // (layers, tokens)
    const nextRank = arrays["lens/next_rank"];
    const [layers, count, k] = ids.shape;
    const text = (id) => lens.vocab[String(id)] ?? `#${id}`;
    $("#lens-note").textContent =
      `What each layer's residual stream would predict if decoding stopped there: every ` +
      `layer's state goes through ${lens.head} (the logit lens), then a softmax over ` +
      `${lens.vocabulary_size.toLocaleString("en")} tokens. Each cell shows the most probable ` +
      `next token at that position; green outline: it is the actual next token. Click a cell ` +
      `for the top ${k}. Probabilities are shown to 3 decimals.`;
    $("#lens-colour").value = state.lensColour;
    const head = el("tr", {}, [el("th", { text: "layer \\ input" }),
      ...tokens.map((t, i) => el("th", { "data-pos": i, title: `position ${i}`, text: show(t) }))]);
    const body = [];
    for (let l = 0; l < layers; l++) {
      const cells = [el("th", { text: stack.layers[l] })];
      for (let i = 0; i < count; i++) {
        const top = ids.data[(l * count + i) * k];
        const p = probs.data[(l * count + i) * k];
        const next = example.ids && i + 1 < count ? example.ids[i + 1] : null;
        const value = state.lensColour === "top" ? p : nextProb.data[l * count + i];
        const [r, g, b] = Number.isNaN(value) ? [250, 250, 250] : heat(value);
        const selected = state.lensCell && state.lensCell[0] === l && state.lensCell[1] === i;
        cells.push(el("td", {
          "data-layer": l, "data-pos": i, "data-token-id": top, "data-p": fixed(p, 3),
          class: (top === next ? "hit" : "") + (selected ? " selected" : ""),
          style: `background: rgb(${r}, ${g}, ${b}); color: ${value > 0.55 ? "#fff" : "#111"}`,
          title: `${show(text(top))}: ${fixed(p, 3)}`, text: show(text(top)),
          onclick: () => { state.lensCell = [l, i]; render(); },
        }));
      }
      body.push(el("tr", { "data-layer": l }, cells));
    }
    const foot = el("tr", {}, [el("th", { text: "actual next" }), ...tokens.map((t, i) =>
      el("td", { "data-pos": i, text: i + 1 < count ? show(tokens[i + 1]) : "" }))]);
    table.replaceChildren(el("thead", {}, [head]), el("tbody", {}, body), el("tfoot", {}, [foot]));

    readout.replaceChildren();
    if (state.lensCell) {
      const [l, i] = state.lensCell;
      const rows = [];
      for (let r = 0; r < k; r++) {
        const id = ids.data[(l * count + i) * k + r];
        rows.push(el("tr", { "data-rank": r + 1, "data-token-id": id }, [
          el("td", { text: String(r + 1) }), el("td", { class: "text", text: show(text(id)) }),
          el("td", { text: fixed(probs.data[(l * count + i) * k + r], 3) })]));
      }
      const next = i + 1 < count ? tokens[i + 1] : null;
      const rank = nextRank.data[l * count + i];
      readout.append(
        el("h3", { text: `${stack.layers[l]}, position ${i} "${show(tokens[i])}"` }),
        el("table", { class: "weights", id: "lens-top" }, [
          el("thead", {}, [el("tr", {}, [el("th", { text: "rank" }), el("th", { class: "text", text: "token" }), el("th", { text: "probability" })])]),
          el("tbody", {}, rows)]),
        el("p", { class: "readout", id: "lens-next", text: next === null ? "last position: no next token" : rank < 0 ? `actual next token "${show(next)}"` : `actual next token "${show(next)}": probability ${fixed(nextProb.data[l * count + i], 3)}, rank ${rank}` }));
    }
    drawn.lens = { example: state.example, layers, positions: count, k };
  }

  // ------------------------------------------------------------------ about
  function drawAbout() {
    const mb = (bytes) => (bytes / 1e6).toFixed(2) + " MB";
    const items = [
      ["model", `${META.model.name} (${META.model.kind}), inputs ${Object.entries(META.model.inputs).map(([n, s]) => `${n} ${JSON.stringify(s)}`).join(", ")}`],
      ["examples", String(examples.length)],
      ["attention weights", `${META.attention_weights.toLocaleString("en")} (real tokens only: padding is not stored), one byte each: round(w \u00d7 ${SCALE}), so a weight is shown in steps of ${fixed(1 / SCALE, 3)} and within ${fixed(0.5 / SCALE, 3)} of the model's`],
      ["hidden states", "norms, cosines and PCA coordinates as float32, computed in float64 from the model's states"],
      ["logit lens", lens ? `top ${lens.top_k} token ids and their probabilities (float32) at every layer and position, and the probability and rank of the actual next token` : (META.lens_note || "none")],
      ["data in this file", `${mb(META.sizes.raw)} of arrays, ${mb(META.sizes.stored)} deflated, base64 in the page; each example is decoded when first shown`],
    ];
    $("#about").replaceChildren(el("dl", {}, items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));
  }

  // ------------------------------------------------------------------ start
  window.explorer = {
    meta: META,
    timings: {},
    state: () => JSON.parse(JSON.stringify(state)),
    drawn: (view) => JSON.parse(JSON.stringify(drawn[view] ?? null)),
    idle: () => pending.then(() => renders),
    set: (changes) => { Object.assign(state, changes); return render(); },
  };
  if (!groups.length || !examples.length) {
    showError("the file has no examples or no attention maps");
    return;
  }
  buildHeader();
  render();
})();
