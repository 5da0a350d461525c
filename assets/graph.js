// lrt's graph explorer: a small force-directed canvas renderer shared by `lrt graph view`
// (data embedded in the file) and the web console (data from GET …/graph/view). Plain
// JavaScript, no dependencies, no network. Text from the KB only ever reaches the page as
// textContent, never as markup.
"use strict";

(function (global) {
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#17becf",
  ];

  // An element with a class and text (never markup).
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function typeColour(types) {
    const sorted = Array.from(types).sort();
    const map = new Map();
    sorted.forEach((t, i) => map.set(t, PALETTE[i % PALETTE.length]));
    return map;
  }

  // Mounts the explorer into `root` (emptied first) for `data`, a GraphView object.
  function mount(root, data) {
    root.textContent = "";
    root.classList.add("lrtg");
    const bar = el("div", "lrtg-bar");
    const search = el("input", "lrtg-search");
    search.type = "search";
    search.placeholder = "Search entities by name";
    search.setAttribute("aria-label", "Search entities by name");
    const status = el("span", "lrtg-status");
    bar.append(search, status);
    const main = el("div", "lrtg-main");
    const stage = el("div", "lrtg-stage");
    const canvas = el("canvas", "lrtg-canvas");
    stage.append(canvas);
    const side = el("aside", "lrtg-side");
    const legend = el("div", "lrtg-legend");
    const details = el("div", "lrtg-details");
    details.append(el("p", "lrtg-hint", "Click a node or an edge to see its description."));
    side.append(legend, details);
    main.append(stage, side);
    root.append(bar, main);

    const nodes = data.nodes.map((n, i) => ({ ...n, index: i, x: 0, y: 0, vx: 0, vy: 0, shown: false }));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const edges = data.edges
      .filter((e) => byId.has(e.source) && byId.has(e.target))
      .map((e) => ({ ...e, s: byId.get(e.source), t: byId.get(e.target) }));
    const adjacent = new Map(nodes.map((n) => [n, []]));
    for (const e of edges) {
      adjacent.get(e.s).push(e.t);
      adjacent.get(e.t).push(e.s);
    }
    const colours = typeColour(new Set(nodes.map((n) => n.type)));
    const maxWeight = edges.reduce((m, e) => Math.max(m, e.weight), 1);
    const view = { scale: 1, x: 0, y: 0 };
    let selected = null;
    let matches = new Set();

    nodes.slice(0, Math.max(1, data.show)).forEach((n) => (n.shown = true));
    place(nodes.filter((n) => n.shown), null);

    // In graph units: zoomed out, nodes shrink less than the distances between them.
    function radius(n) {
      return (4 + 2.2 * Math.sqrt(n.degree)) / Math.sqrt(Math.min(1, view.scale));
    }
    function hiddenNeighbours(n) {
      return adjacent.get(n).filter((m) => !m.shown);
    }
    function shownNodes() {
      return nodes.filter((n) => n.shown);
    }
    function shownEdges() {
      return edges.filter((e) => e.s.shown && e.t.shown);
    }

    // New nodes start near `around` (or on a circle), then the layout settles them.
    function place(fresh, around) {
      fresh.forEach((n, i) => {
        const a = (2 * Math.PI * i) / Math.max(1, fresh.length) + (n.index % 7);
        const r = around ? 40 + 10 * Math.sqrt(i) : 30 * Math.sqrt(n.index + 1);
        n.x = (around ? around.x : 0) + r * Math.cos(a);
        n.y = (around ? around.y : 0) + r * Math.sin(a);
        n.shown = true;
      });
      layout();
    }

    // A plain O(n²) force layout, run to rest at once: repulsion between all nodes, springs
    // along edges, a pull to the centre.
    function layout() {
      const ns = shownNodes();
      const es = shownEdges();
      const n = ns.length;
      const rounds = Math.max(40, Math.min(300, Math.floor(4e7 / Math.max(1, n * n))));
      for (let r = 0; r < rounds; r++) {
        const cool = 1 - r / rounds;
        for (let i = 0; i < n; i++) {
          const a = ns[i];
          for (let j = i + 1; j < n; j++) {
            const b = ns[j];
            let dx = a.x - b.x;
            let dy = a.y - b.y;
            let d2 = dx * dx + dy * dy;
            if (d2 < 0.01) {
              dx = Math.random() - 0.5;
              dy = Math.random() - 0.5;
              d2 = 0.01;
            }
            const f = 900 / d2;
            a.vx += dx * f;
            a.vy += dy * f;
            b.vx -= dx * f;
            b.vy -= dy * f;
          }
        }
        for (const e of es) {
          const dx = e.t.x - e.s.x;
          const dy = e.t.y - e.s.y;
          const d = Math.sqrt(dx * dx + dy * dy) || 1;
          const f = (0.04 * (d - 70)) / d;
          e.s.vx += dx * f;
          e.s.vy += dy * f;
          e.t.vx -= dx * f;
          e.t.vy -= dy * f;
        }
        for (const a of ns) {
          a.vx -= a.x * 0.025;
          a.vy -= a.y * 0.025;
          const v = Math.sqrt(a.vx * a.vx + a.vy * a.vy);
          const max = 30 * cool + 1;
          if (v > max) {
            a.vx *= max / v;
            a.vy *= max / v;
          }
          a.x += a.vx;
          a.y += a.vy;
          a.vx *= 0.5;
          a.vy *= 0.5;
        }
      }
      fit();
    }

    function fit() {
      const ns = shownNodes();
      const w = canvas.clientWidth || 600;
      const h = canvas.clientHeight || 400;
      if (!ns.length) {
        Object.assign(view, { scale: 1, x: w / 2, y: h / 2 });
        return;
      }
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const n of ns) {
        x0 = Math.min(x0, n.x);
        y0 = Math.min(y0, n.y);
        x1 = Math.max(x1, n.x);
        y1 = Math.max(y1, n.y);
      }
      // Room for the labels, written right of the nodes.
      const scale = Math.min(2, (w - 150) / Math.max(1, x1 - x0), (h - 50) / Math.max(1, y1 - y0));
      view.scale = scale;
      view.x = w / 2 - 50 - ((x0 + x1) / 2) * scale;
      view.y = h / 2 - ((y0 + y1) / 2) * scale;
    }

    function toScreen(n) {
      return { x: n.x * view.scale + view.x, y: n.y * view.scale + view.y };
    }

    function draw() {
      const dpr = global.devicePixelRatio || 1;
      const w = canvas.clientWidth;
      const h = canvas.clientHeight;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(h * dpr);
      }
      const g = canvas.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, w, h);
      g.save();
      g.translate(view.x, view.y);
      g.scale(view.scale, view.scale);
      for (const e of shownEdges()) {
        g.strokeStyle = e === selected ? "#d62728" : "rgba(110,110,110,0.55)";
        g.lineWidth = (0.6 + 3.4 * (e.weight / maxWeight)) / Math.sqrt(view.scale);
        g.beginPath();
        g.moveTo(e.s.x, e.s.y);
        g.lineTo(e.t.x, e.t.y);
        g.stroke();
      }
      const labels = view.scale > 0.6 || shownNodes().length < 60;
      g.font = `${12 / view.scale}px sans-serif`;
      for (const n of shownNodes()) {
        const r = radius(n);
        g.fillStyle = colours.get(n.type);
        g.beginPath();
        g.arc(n.x, n.y, r, 0, 2 * Math.PI);
        g.fill();
        if (n === selected || matches.has(n)) {
          g.lineWidth = 3 / view.scale;
          g.strokeStyle = n === selected ? "#d62728" : "#111";
          g.stroke();
        }
        if (hiddenNeighbours(n).length) {
          g.fillStyle = "#fff";
          g.beginPath();
          g.arc(n.x + r * 0.7, n.y - r * 0.7, 2.5 / view.scale + 1, 0, 2 * Math.PI);
          g.fill();
        }
        if (labels || n === selected || matches.has(n)) {
          g.fillStyle = "#222";
          g.fillText(n.id, n.x + r + 2, n.y + 4 / view.scale);
        }
      }
      g.restore();
      renderStatus();
    }

    function renderStatus() {
      const shown = shownNodes().length;
      let text = `Showing ${shown} of ${nodes.length} entities`;
      const hidden = nodes.length - shown;
      if (hidden > 0) text += ` (${hidden} hidden: click a node marked with a dot to show its neighbours)`;
      if (data.omitted_nodes > 0) {
        text += `; ${data.omitted_nodes} more with the lowest degrees left out (pick an entity to see its neighbourhood)`;
      }
      if (data.focus) text += `; neighbourhood of ${data.focus} to depth ${data.depth}`;
      text += `. The knowledge base has ${data.kb_nodes} entities and ${data.kb_edges} relations.`;
      status.textContent = text;
    }

    function renderLegend() {
      legend.textContent = "";
      legend.append(el("h3", null, "Entity types"));
      const counts = new Map();
      for (const n of nodes) counts.set(n.type, (counts.get(n.type) || 0) + 1);
      const list = el("ul");
      for (const [t, c] of Array.from(counts).sort((a, b) => b[1] - a[1])) {
        const li = el("li");
        const swatch = el("span", "lrtg-swatch");
        swatch.style.background = colours.get(t);
        li.append(swatch, el("span", null, `${t || "(none)"} (${c})`));
        list.append(li);
      }
      legend.append(list);
    }

    function section(title, items) {
      const box = el("div", "lrtg-section");
      box.append(el("h4", null, title));
      if (!items.length) {
        box.append(el("p", "lrtg-none", "none"));
        return box;
      }
      const list = el("ul");
      for (const i of items) list.append(el("li", null, i));
      box.append(list);
      return box;
    }

    function showDetails(item) {
      details.textContent = "";
      if (!item) {
        details.append(el("p", "lrtg-hint", "Click a node or an edge to see its description."));
        return;
      }
      if (item.s) {
        details.append(el("h3", "lrtg-title", `${item.source} — ${item.target}`));
        details.append(el("p", "lrtg-meta", `relation · weight ${item.weight}`));
        details.append(section("Keywords", item.keywords));
        details.append(section("Description", item.description));
        details.append(section("Source documents", item.files));
        return;
      }
      details.append(el("h3", "lrtg-title", item.id));
      details.append(el("p", "lrtg-meta", `${item.type || "(no type)"} · degree ${item.degree}`));
      details.append(section("Description", item.description));
      details.append(section("Source documents", item.files));
      const rel = edges
        .filter((e) => e.s === item || e.t === item)
        .sort((a, b) => b.weight - a.weight)
        .map((e) => `${e.s === item ? e.target : e.source} (weight ${e.weight}${e.keywords.length ? "; " + e.keywords.join(", ") : ""})`);
      details.append(section("Relations", rel));
      const missing = item.degree - rel.length;
      if (missing > 0) {
        details.append(el("p", "lrtg-meta", `${missing} more relations lead to entities left out of this view.`));
      }
    }

    function nodeAt(px, py) {
      let best = null;
      for (const n of shownNodes()) {
        const p = toScreen(n);
        const r = Math.max(6, radius(n) * view.scale);
        const d = Math.hypot(p.x - px, p.y - py);
        if (d <= r && (!best || d < best.d)) best = { n, d };
      }
      return best && best.n;
    }

    function edgeAt(px, py) {
      let best = null;
      for (const e of shownEdges()) {
        const a = toScreen(e.s);
        const b = toScreen(e.t);
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        const len2 = dx * dx + dy * dy || 1;
        const t = Math.max(0, Math.min(1, ((px - a.x) * dx + (py - a.y) * dy) / len2));
        const d = Math.hypot(a.x + t * dx - px, a.y + t * dy - py);
        if (d <= 5 && (!best || d < best.d)) best = { e, d };
      }
      return best && best.e;
    }

    function select(item) {
      selected = item;
      showDetails(item);
      draw();
    }

    // Selects a node; its hidden neighbours are shown around it.
    function open(n) {
      const fresh = hiddenNeighbours(n);
      if (fresh.length) place(fresh, n);
      select(n);
    }

    function centre(n) {
      const w = canvas.clientWidth;
      const h = canvas.clientHeight;
      view.x = w / 2 - n.x * view.scale;
      view.y = h / 2 - n.y * view.scale;
    }

    let drag = null;
    canvas.addEventListener("mousedown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
    });
    global.addEventListener("mousemove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        view.x = drag.vx + dx;
        view.y = drag.vy + dy;
        draw();
      }
    });
    global.addEventListener("mouseup", (ev) => {
      const was = drag;
      drag = null;
      if (!was || was.moved || ev.target !== canvas) return;
      const rect = canvas.getBoundingClientRect();
      const px = ev.clientX - rect.left;
      const py = ev.clientY - rect.top;
      const n = nodeAt(px, py);
      if (n) open(n);
      else select(edgeAt(px, py));
    });
    canvas.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        const rect = canvas.getBoundingClientRect();
        const px = ev.clientX - rect.left;
        const py = ev.clientY - rect.top;
        const k = Math.exp(-ev.deltaY * 0.0015);
        view.x = px - (px - view.x) * k;
        view.y = py - (py - view.y) * k;
        view.scale *= k;
        draw();
      },
      { passive: false },
    );
    search.addEventListener("input", () => {
      const q = search.value.trim().toLowerCase();
      matches = new Set(q ? nodes.filter((n) => n.id.toLowerCase().includes(q)) : []);
      draw();
    });
    search.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      const q = search.value.trim().toLowerCase();
      const hit = nodes.find((n) => n.id.toLowerCase() === q) || nodes.find((n) => n.id.toLowerCase().includes(q));
      if (!hit) {
        status.textContent = `No entity named like "${search.value}" in this view.`;
        return;
      }
      if (!hit.shown) place([hit], null);
      open(hit);
      centre(hit);
      draw();
    });
    const resize = () => {
      fit();
      draw();
    };
    if (global.ResizeObserver) new ResizeObserver(resize).observe(canvas);

    renderLegend();
    resize();
    if (!nodes.length) {
      details.textContent = "";
      details.append(el("p", "lrtg-hint", "This knowledge base has no entities yet."));
    }

    // For tests and scripts: where a node is drawn, in page coordinates.
    const api = {
      position(id) {
        const n = byId.get(id);
        if (!n || !n.shown) return null;
        const rect = canvas.getBoundingClientRect();
        const p = toScreen(n);
        return { x: rect.left + p.x, y: rect.top + p.y };
      },
      shown: () => shownNodes().map((n) => n.id),
    };
    root.lrtGraph = api;
    return api;
  }

  global.LrtGraph = { mount, el };
})(window);
