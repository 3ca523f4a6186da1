// The gofutures dashboard: polls api/state while the page is visible and
// draws it. Charts are uPlot (assets/uPlot.iife.min.js, MIT).
"use strict";
(function () {
  const refresh = Number(document.body.dataset.refresh) || 1000;
  const cards = new Map();   // executor name -> {el, thr, dist, distKey}
  const ccards = new Map();  // cluster name -> el
  const status = document.getElementById("status");
  const axisFont = "11px system-ui, sans-serif";

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  function num(n) { return String(n); }
  function dur(s) {
    if (s == null || s < 0 || !isFinite(s)) return "–";
    if (s === 0) return "0";
    if (s < 1e-3) return (s * 1e6).toFixed(s < 1e-5 ? 1 : 0) + "µs";
    if (s < 1) return (s * 1e3).toFixed(s < 1e-2 ? 1 : 0) + "ms";
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }
  function rate(r) {
    if (!r) return "0/s";
    if (r >= 1e6) return (r / 1e6).toFixed(2) + "M/s";
    if (r >= 1e4) return (r / 1e3).toFixed(1) + "k/s";
    return r.toFixed(r < 10 ? 1 : 0) + "/s";
  }
  function set(root, field, text, bad) {
    const e = root.querySelector('[data-field="' + field + '"]');
    if (!e) return;
    if (e.textContent !== text) e.textContent = text;
    if (bad !== undefined) e.closest(".tile")?.classList.toggle("bad", bad);
  }
  function tile(field, label) {
    return el("div", {class: "tile"}, el("div", {class: "k"}, label), el("div", {class: "v", "data-field": field}, "–"));
  }
  function chartWidth(card) { return Math.max(280, Math.min(560, (card.clientWidth - 60) / 2)); }

  // ---- executors
  function execCard(name) {
    const root = el("div", {class: "card executor", "data-executor": name});
    const tiles = el("div", {class: "tiles"},
      tile("submitted", "submitted"), tile("queued", "queue depth"), tile("running", "in flight"),
      tile("done", "done"), tile("ok", "ok"), tile("failed", "failed"), tile("retries", "retries"),
      tile("workers", "workers alive"), tile("workerStarts", "worker starts"), tile("restarts", "restarts"),
      tile("p50", "run p50"), tile("p99", "run p99"));
    const helpers = el("div", {class: "block"}, el("h4", {}, "helpers (pid · state)"), el("div", {class: "helpers", "data-field": "helpers"}));
    helpers.hidden = true;
    const thrBox = el("div", {class: "chart"}, el("h4", {}, "throughput (tasks ended per second)"));
    const distBox = el("div", {class: "chart"}, el("h4", {}, "run-time distribution (tasks timed)"));
    const charts = el("div", {class: "charts"}, thrBox, distBox);
    const fails = el("div", {class: "block"}, el("h4", {}, "recent failures"),
      el("table", {class: "failures"},
        el("thead", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "outcome"), el("th", {}, "pid"), el("th", {}, "error"))),
        el("tbody", {"data-field": "failures"})));
    const stops = el("div", {class: "muted", "data-field": "stops"});
    root.append(el("h3", {}, name), tiles, helpers, stops, charts, fails);
    document.getElementById("executors").append(root);
    const w = chartWidth(document.getElementById("executors"));
    const thr = new uPlot({
      width: w, height: 170, legend: {show: true, live: false},
      scales: {x: {time: true}, y: {range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)]}},
      series: [{}, {label: "ended/s", stroke: "#2563eb", fill: "rgba(37,99,235,.10)", width: 1.5, value: (u, v) => v == null ? "–" : rate(v)},
        {label: "failed/s", stroke: "#dc2626", width: 1.5, value: (u, v) => v == null ? "–" : rate(v)}],
      axes: [{font: axisFont}, {size: 55, font: axisFont, values: (u, vs) => vs.map(v => rate(v))}],
    }, [[], [], []], thrBox);
    const c = {root, thr, thrBox, distBox, dist: null, distKey: "", helpers};
    cards.set(name, c);
    return c;
  }

  function drawDist(c, run) {
    let lo = run.counts.findIndex(n => n > 0), hi = run.counts.length - 1;
    while (hi > 0 && run.counts[hi] === 0) hi--;
    if (lo < 0) { lo = 0; hi = 5; }
    lo = Math.max(0, Math.min(lo, hi - 4)); hi = Math.min(run.counts.length - 1, Math.max(hi, lo + 4));
    const xs = [], ys = [], labels = [];
    for (let i = lo; i <= hi; i++) {
      xs.push(i - lo); ys.push(run.counts[i]);
      labels.push(i < run.bounds.length ? "≤" + dur(run.bounds[i]) : ">" + dur(run.bounds[run.bounds.length - 1]));
    }
    const key = lo + ":" + hi;
    if (!c.dist || c.distKey !== key) {
      if (c.dist) c.dist.destroy();
      c.distKey = key;
      c.dist = new uPlot({
        width: c.thr.width, height: 170, legend: {show: false},
        scales: {x: {time: false, range: [-0.5, xs.length - 0.5]}, y: {range: (u, a, b) => [0, Math.max(1, b * 1.1)]}},
        series: [{}, {label: "tasks", fill: "rgba(22,163,74,.55)", stroke: "#16a34a",
          paths: uPlot.paths.bars({size: [0.8, 60]}), points: {show: false}}],
        axes: [{splits: () => xs, font: axisFont, size: 40, gap: 4,
          values: (u, vs) => vs.map(v => (xs.length <= 8 || v % 2 === 0) ? (labels[v] ?? "") : "")},
          {size: 55, font: axisFont}],
      }, [xs, ys], c.distBox);
    } else {
      c.dist.setData([xs, ys]);
    }
  }

  function drawExec(x) {
    const c = cards.get(x.name) || execCard(x.name);
    const r = c.root;
    set(r, "submitted", num(x.submitted)); set(r, "queued", num(x.queued)); set(r, "running", num(x.running));
    set(r, "done", num(x.done)); set(r, "ok", num(x.ok)); set(r, "failed", num(x.failed), x.failed > 0);
    set(r, "retries", num(x.retries || 0));
    set(r, "workers", num(x.workers)); set(r, "workerStarts", num(x.workerStarts)); set(r, "restarts", num(x.restarts), x.restarts > 0);
    set(r, "p50", x.run.count ? dur(x.run.p50) : "–"); set(r, "p99", x.run.count ? dur(x.run.p99) : "–");
    const stops = Object.entries(x.workerStops).map(([k, v]) => k + " " + v).join(", ");
    const outs = Object.entries(x.outcomes).map(([k, v]) => k + " " + v).join(", ");
    set(r, "stops", [stops && "worker stops: " + stops, outs && "failed by outcome: " + outs].filter(Boolean).join(" · "));
    c.helpers.hidden = !x.helpers;
    if (x.helpers) {
      const box = r.querySelector('[data-field="helpers"]');
      box.replaceChildren(...x.helpers.map(h => el("span", {class: "helper", "data-pid": h.pid}, h.pid + " · " + h.state)));
    }
    const h = x.history;
    c.thr.setData([h.t, h.rate, h.failed]);
    drawDist(c, x.run);
    const tb = r.querySelector('[data-field="failures"]');
    if (!x.failures.length) {
      tb.replaceChildren(el("tr", {}, el("td", {colspan: 4, class: "muted"}, x.failed ? "failures counted; none recorded with its error (Dashboard.Failed)" : "none")));
    } else {
      tb.replaceChildren(...x.failures.map(f => el("tr", {class: "failure"},
        el("td", {}, new Date(f.time).toLocaleTimeString()), el("td", {}, f.outcome),
        el("td", {}, f.pid ? String(f.pid) : "–"), el("td", {class: "err"}, f.error))));
    }
  }

  // ---- pool calls
  function drawCalls(calls) {
    document.getElementById("calls-section").hidden = calls.length === 0;
    document.getElementById("calls").replaceChildren(...calls.map(k => {
      const frac = k.total > 0 ? Math.min(1, k.done / k.total) : (k.finished ? 1 : 0);
      const bar = el("div", {class: "bar" + (k.finished ? " finished" : "")}, el("div", {style: "width:" + (100 * frac).toFixed(1) + "%"}));
      const pct = k.total >= 0 ? " (" + (100 * frac).toFixed(0) + "%)" : "";
      return el("tr", {class: "call", "data-call": k.name, "data-id": k.id},
        el("td", {}, k.name), el("td", {}, bar),
        el("td", {"data-field": "progress"}, k.done + " / " + (k.total >= 0 ? k.total : "?") + pct),
        el("td", {}, rate(k.finished ? k.rate : (k.recent || k.rate))),
        el("td", {}, k.finished ? "done" : dur(k.eta)), el("td", {}, dur(k.elapsed)));
    }));
  }

  // ---- clusters
  function drawCluster(c) {
    let root = ccards.get(c.name);
    if (!root) {
      root = el("div", {class: "card cluster", "data-cluster": c.name}, el("h3", {}, c.name),
        el("div", {class: "tiles"}, tile("workersConnected", "workers connected"), tile("streamDepth", "stream depth"),
          tile("ackPending", "ack pending"), tile("redeliveries", "redeliveries"), tile("deliveryLimitFailures", "delivery-limit failures")),
        el("div", {class: "muted", "data-field": "error"}),
        el("table", {}, el("thead", {}, el("tr", {}, ...["worker", "host", "concurrency", "running", "held"].map(s => el("th", {}, s)))),
          el("tbody", {"data-field": "workers"})));
      document.getElementById("clusters").append(root);
      ccards.set(c.name, root);
    }
    set(root, "workersConnected", num(c.workers.length)); set(root, "streamDepth", num(c.streamDepth));
    set(root, "ackPending", num(c.ackPending)); set(root, "redeliveries", num(c.redeliveries), c.redeliveries > 0);
    set(root, "deliveryLimitFailures", num(c.deliveryLimitFailures), c.deliveryLimitFailures > 0);
    set(root, "error", c.error || "");
    root.querySelector('[data-field="workers"]').replaceChildren(...c.workers.map(w =>
      el("tr", {}, el("td", {}, w.Name + " (" + w.ID.slice(0, 8) + ")"), el("td", {}, w.Host),
        el("td", {}, num(w.Concurrency)), el("td", {}, num(w.Running)), el("td", {}, num(w.Held)))));
  }

  function draw(st) {
    const ex = document.getElementById("executors");
    if (st.executors.length) ex.querySelector(".empty")?.remove();
    const names = new Set(st.executors.map(x => x.name));
    for (const [n, c] of cards) if (!names.has(n)) { c.root.remove(); cards.delete(n); }
    st.executors.forEach(drawExec);
    drawCalls(st.calls);
    document.getElementById("clusters-section").hidden = st.clusters.length === 0;
    st.clusters.forEach(drawCluster);
    status.textContent = "live · updated " + new Date(st.time).toLocaleTimeString();
    status.className = "status live";
    document.body.dataset.updated = String(st.time);
  }

  let timer = 0, busy = false;
  async function poll() {
    timer = 0;
    if (busy) return;
    busy = true;
    try {
      const r = await fetch("api/state", {cache: "no-store"});
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      draw(await r.json());
    } catch (e) {
      status.textContent = "disconnected: " + e.message;
      status.className = "status down";
    }
    busy = false;
    if (!document.hidden) timer = setTimeout(poll, refresh);
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !timer) poll();
  });
  poll();
})();
