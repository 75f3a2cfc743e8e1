// konform dashboard: the little script that makes the server-rendered pages live.
// - the timeline follows /events (server-sent, batched) and inserts rows in time order;
// - a request opens in the details pane (the link still works as a page without script);
// - admin forms become JSON calls through /api/sim/NAME/admin/PATH.
// No dependencies, nothing loaded from elsewhere.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // Figures a benchmark or test can read: rows received, batches, the newest row's delay, main-thread stalls.
  const stats = (window.__konform = { rows: 0, matched: 0, batches: 0, lastDelayMs: null, maxDelayMs: 0, maxStallMs: 0 });
  (function stallProbe() {
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      stats.maxStallMs = Math.max(stats.maxStallMs, now - last - 100);
      last = now;
    }, 100);
  })();

  // ---- timeline --------------------------------------------------------------------------------
  const table = $("#timeline");
  const rows = () => table.tBodies[0];
  const liveStatus = $("#live-status");
  let source = null;
  let paused = false;
  let missed = 0;
  let announced = 0;
  let pending = 0;

  function announce(text) {
    if (liveStatus) liveStatus.textContent = text;
  }

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content;
  }

  function insertRow(tr) {
    const old = document.getElementById(tr.id);
    if (old) old.remove();
    const key = tr.dataset.key;
    let before = rows().firstElementChild;
    while (before && before.dataset.key > key) before = before.nextElementSibling;
    rows().insertBefore(tr, before);
  }

  function applyBatch(data) {
    stats.batches += 1;
    stats.matched += data.matched;
    const limit = Number(table.dataset.limit || 100);
    // Newest first in the batch: insert oldest first so each goes to its place.
    for (let i = data.rows.length - 1; i >= 0; i--) {
      const tr = fragment(data.rows[i]).firstElementChild;
      if (!tr) continue;
      tr.classList.add("fresh");
      insertRow(tr);
      stats.rows += 1;
    }
    while (rows().rows.length > limit) rows().lastElementChild.remove();
    for (const f of data.flows || []) {
      for (const id of f.rows) {
        const cell = document.querySelector("#" + CSS.escape(id) + " td.fl");
        if (cell && !cell.firstChild) cell.innerHTML = '<a class="flow" href="/?flow=' + f.id + '" title="show the whole flow">flow ' + f.id + "</a>";
      }
    }
    table.dataset.last = data.last;
    const empty = $("#empty");
    if (empty && rows().rows.length) empty.remove();
    const older = $("#older");
    const lastRow = rows().lastElementChild;
    if (older && lastRow) {
      const u = new URL(older.href);
      u.searchParams.set("before", lastRow.dataset.key);
      older.href = u.pathname + u.search;
    }
    if (data.newest_at) {
      const d = Date.now() - Date.parse(data.newest_at);
      stats.lastDelayMs = d;
      stats.maxDelayMs = Math.max(stats.maxDelayMs, d);
    }
    // Announce politely, at most every 5 s (a screen reader must not be flooded).
    pending += data.matched;
    const now = Date.now();
    if (now - announced > 5000) {
      announce(pending === 1 ? "1 new request" : pending + " new requests");
      announced = now;
      pending = 0;
    }
  }

  function connect() {
    if (!table || !table.dataset.live || source) return;
    const q = table.dataset.query;
    const url = "/events?" + (q ? q + "&" : "") + "after=" + encodeURIComponent(table.dataset.last || "0");
    source = new EventSource(url);
    source.addEventListener("rows", (ev) => {
      if (paused) return;
      applyBatch(JSON.parse(ev.data));
    });
    source.onerror = () => announce("Live updates interrupted; retrying…");
    source.onopen = () => { if (liveStatus && liveStatus.textContent.startsWith("Live updates interrupted")) announce("Live updates resumed"); };
  }

  function disconnect() {
    if (source) { source.close(); source = null; }
  }

  async function reloadRows() {
    const res = await fetch(location.pathname + location.search + (location.search ? "&" : "?") + "partial=1");
    if (!res.ok) return;
    const fresh = fragment(await res.text());
    const t = fresh.querySelector("#timeline");
    if (t) {
      rows().replaceWith(t.tBodies[0]);
      table.dataset.last = t.dataset.last;
    }
  }

  const pause = $("#pause");
  if (pause) {
    pause.addEventListener("click", async () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume live updates" : "Pause live updates";
      if (paused) {
        disconnect();
        announce("Live updates paused");
      } else {
        await reloadRows();
        connect();
        announce("Live updates resumed");
      }
    });
  }

  // ---- details pane ----------------------------------------------------------------------------
  const pane = $("#detail");
  let opener = null;

  function closePane() {
    if (!pane || pane.hidden) return;
    pane.hidden = true;
    pane.innerHTML = "";
    pane.parentElement.classList.remove("open");
    $$("tr.selected").forEach((r) => r.classList.remove("selected"));
    if (opener && document.body.contains(opener)) opener.focus();
  }

  async function openEntry(a) {
    const res = await fetch(a.getAttribute("href") + "?partial=1");
    if (!res.ok) { location.href = a.href; return; }
    pane.innerHTML = await res.text();
    pane.hidden = false;
    pane.parentElement.classList.add("open");
    $$("tr.selected").forEach((r) => r.classList.remove("selected"));
    const tr = a.closest("tr");
    if (tr) tr.classList.add("selected");
    const close = $(".close", pane);
    if (close) { close.hidden = false; close.addEventListener("click", closePane); }
    const h = $("h2", pane);
    if (h) h.focus();
    if (window.matchMedia("(max-width: 900px)").matches) pane.scrollIntoView();
  }

  document.addEventListener("click", (ev) => {
    const a = ev.target.closest && ev.target.closest("a.open");
    if (!a || !pane || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    if (!pane.contains(a)) opener = a;
    openEntry(a);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && pane && !pane.hidden) { ev.preventDefault(); closePane(); }
  });

  // ---- admin forms -----------------------------------------------------------------------------
  function convert(el, v) {
    switch (el.dataset.type) {
      case "number": return Number(v);
      case "bool": return v === "true" || v === "on" || v === "yes";
      case "list": return v.split(",").map((x) => x.trim()).filter((x) => x);
      case "json": return JSON.parse(v);
      default: return v;
    }
  }

  function setPath(obj, dotted, value) {
    const parts = dotted.split(".");
    let o = obj;
    for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] = o[parts[i]] || {};
    o[parts[parts.length - 1]] = value;
  }

  function updateWhen(form) {
    for (const w of $$(".when", form)) {
      const [name, want] = w.dataset.when.split(":");
      const ctl = form.elements.namedItem(name);
      const on = ctl && ctl.value === want;
      w.hidden = !on;
      $$("input,select,textarea", w).forEach((el) => (el.disabled = !on));
    }
  }

  function bodyOf(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name.startsWith("_")) continue;
      if (el.value === "") continue;
      setPath(body, el.name, convert(el, el.value));
    }
    return body;
  }

  function show(out, ok, text, detail) {
    out.className = "result " + (ok ? "ok" : "err");
    out.textContent = text;
    if (detail) {
      const pre = document.createElement("pre");
      pre.textContent = detail;
      out.appendChild(pre);
    }
  }

  async function refreshState(focusId) {
    const state = $("#state");
    if (!state) return;
    const res = await fetch(location.pathname + "?partial=1");
    if (!res.ok) return;
    const fresh = fragment(await res.text()).firstElementChild;
    if (!fresh) return;
    state.replaceWith(fresh);
    initForms(fresh);
    const again = focusId && document.getElementById(focusId);
    if (again) {
      const b = $("button[type=submit]", again);
      if (b) b.focus();
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const out = $("output", form);
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    let method = form.dataset.method;
    let path = form.dataset.path;
    let text;
    try {
      if (method === "RAW") {
        method = form.elements.namedItem("_method").value;
        path = form.elements.namedItem("_path").value;
      }
      const raw = form.elements.namedItem("_body");
      if (method !== "GET") text = raw && raw.value.trim() ? JSON.stringify(JSON.parse(raw.value)) : JSON.stringify(bodyOf(form));
    } catch (e) {
      show(out, false, "The JSON body does not parse: " + e.message);
      return;
    }
    show(out, true, "Sending…");
    const url = "/api/sim/" + encodeURIComponent(form.dataset.sim) + "/admin" + path;
    let res;
    try {
      res = await fetch(url, { method, headers: { "content-type": "application/json" }, body: text });
    } catch (e) {
      show(out, false, "The dashboard could not be reached: " + e.message);
      return;
    }
    const answer = await res.text();
    let pretty = answer;
    try { pretty = JSON.stringify(JSON.parse(answer), null, 2); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      let msg = answer;
      try { msg = JSON.parse(answer).error || answer; } catch (_) { /* not JSON */ }
      show(out, false, res.status + ": " + msg);
      return;
    }
    if (form.classList.contains("raw")) {
      show(out, true, res.status + " " + res.statusText, pretty);
      return;
    }
    show(out, true, "Done (" + res.status + ").");
    await refreshState(form.id);
    const again = document.getElementById(form.id);
    if (again) show($("output", again), true, "Done (" + res.status + ").");
  }

  function initForms(root) {
    for (const form of $$("form.admin", root)) {
      form.addEventListener("submit", submit);
      if ($(".when", form)) {
        form.addEventListener("change", () => updateWhen(form));
        updateWhen(form);
      }
    }
  }

  initForms(document);
  connect();
  window.addEventListener("pagehide", disconnect);
})();
