// The jido dashboard: one page, no dependencies. Data arrives over one websocket (/api/live): the page says
// what it shows and the server pushes it at every tick. Everything shown from the runtime is put in the page
// as text (textContent), never as HTML: agent ids, states and signals are data from outside.
"use strict";

const S = {
  session: null, ws: null, route: [], tick: null, chart: [], stream: [], streamPattern: "**",
  paused: false, agentQuery: { q: "", status: "", sort: "id", desc: false, offset: 0, limit: 100 },
  retry: 0,
};
const STREAM_KEEP = 500;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "cls") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}
const $ = (id) => document.getElementById(id);
const present = (children) => children.flat().filter((c) => c !== null && c !== undefined && c !== false);
const show = (...children) => $("main").replaceChildren(...present(children));
const showMore = (...children) => $("main").append(...present(children));
const fmt = (n) => (n === null || n === undefined ? "-" : typeof n === "number" ? (Number.isInteger(n) ? n.toLocaleString("en") : n.toFixed(2)) : String(n));
const time = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "-");

function toast(message, error) {
  const t = $("toast");
  t.textContent = message;
  t.className = error ? "toast error" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const err = new Error((body && body.error) || response.statusText);
    err.status = response.status;
    throw err;
  }
  return body;
}

async function change(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Jido-CSRF": (S.session && S.session.csrf) || "" },
    body: JSON.stringify(body || {}),
  });
}

// -- boot and sign-in ------------------------------------------------------------------------------------------
async function boot() {
  try {
    S.session = await api("/api/session");
  } catch (e) {
    if (e.status === 401) return renderLogin();
    show(h("p", { cls: "muted" }, "Cannot reach the server: " + e.message));
    return;
  }
  $("who").textContent = S.session.name + (S.session.admin ? " (admin)" : " (read only)");
  window.addEventListener("hashchange", route);
  connect();
  route();
}

function renderLogin() {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", placeholder: "token" });
  const form = h("form", { cls: "login", id: "login-form", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api("/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: input.value }) });
      location.reload();
    } catch (e) { toast("Sign-in failed: " + e.message, true); }
  } }, h("h1", {}, "Sign in"), h("p", { cls: "muted" }, "This runtime needs a gateway token."), input, " ", h("button", { type: "submit" }, "Sign in"));
  show(form);
  input.focus();
}

// -- the live connection ----------------------------------------------------------------------------------------
function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live");
  S.ws = ws;
  ws.onopen = () => { S.retry = 0; $("conn").textContent = "live"; $("conn").className = "conn live"; sendView(); sendStream(); };
  ws.onclose = () => {
    $("conn").textContent = "offline"; $("conn").className = "conn";
    S.retry = Math.min(S.retry + 1, 6);
    setTimeout(connect, 500 * 2 ** S.retry);  // back off: a stopped server is not hammered
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.kind === "hello") { S.chart = m.chart || []; }
    else if (m.kind === "tick") { onTick(m); }
    else if (m.kind === "signals") { onSignals(m); }
    else if (m.kind === "error") { toast(m.message, true); }
  };
}
function send(message) { if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify(message)); }

function sendView() {
  const [page, arg] = S.route;
  if (page === "agents") send({ op: "view", view: "agents", params: S.agentQuery });
  else if (page === "agent") send({ op: "view", view: "agent", id: arg });
  else if (page === "tree") send({ op: "view", view: "tree" });
  else if (page === "dead-letters") send({ op: "view", view: "dead_letters" });
  else if (page === "bus") send({ op: "view", view: "bus" });
  else send({ op: "view", view: "overview" });
}
function sendStream() {
  send({ op: "stream", pattern: S.route[0] === "stream" && !S.paused ? S.streamPattern : null });
}

function onTick(m) {
  S.tick = m;
  // The pattern the server streams once its subscription is open (not merely asked for): tests wait on it.
  document.body.dataset.streaming = m.streaming || "";
  if (m.point && (!S.chart.length || S.chart[S.chart.length - 1].t !== m.point.t)) {
    S.chart.push(m.point);
    if (S.chart.length > 300) S.chart.shift();
  }
  const o = m.overview;
  $("counts").textContent = `${fmt(o.agents)} agents, ${fmt(o.failed)} failed, ${fmt(o.hibernated)} hibernated, ${fmt(o.dead_letters)} dead letters`;
  const page = S.route[0] || "";
  const wanted = { "": "overview", agents: "agents", agent: "agent", tree: "tree", "dead-letters": "dead_letters", bus: "bus" }[page];
  if (wanted && m.view === wanted) RENDER[page](m.data);
}

function onSignals(m) {
  for (const s of m.signals) S.stream.unshift(s);
  S.stream.length = Math.min(S.stream.length, STREAM_KEEP);
  if (m.dropped) toast(`${m.dropped} signals not shown (the stream was too fast)`);
  if (S.route[0] === "stream") renderStreamList();
}

// -- routing ---------------------------------------------------------------------------------------------------
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  S.route = [parts[0] || "", parts.slice(1).map(decodeURIComponent).join("/")];
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").replace(/^#\/?/, "");
    a.classList.toggle("active", target === S.route[0] || (target === "agents" && S.route[0] === "agent") || (target === "dead-letters" && S.route[0] === "dead-letter"));
  }
  const page = S.route[0];
  const main = $("main");
  main.replaceChildren(h("p", { cls: "muted" }, "Waiting for the next update..."));
  if (page === "dead-letter") renderDeadLetter(S.route[1]);
  else if (page === "trace") renderTrace(S.route[1]);
  else if (page === "stream") renderStream();
  sendView();
  sendStream();
}

// -- pages -----------------------------------------------------------------------------------------------------
function chart(title, points, series, unit) {
  const w = 600, hgt = 140, pad = 4;
  const values = points.flatMap((p) => series.map((s) => p[s.key])).filter((v) => v !== null && v !== undefined);
  const max = Math.max(1e-9, ...values);
  const box = svg("svg", { viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none", role: "img" });
  box.append(svg("line", { x1: 0, y1: hgt - pad, x2: w, y2: hgt - pad, stroke: "#d8dee4" }));
  const n = Math.max(points.length - 1, 1);
  for (const s of series) {
    const coords = points.map((p, i) => (p[s.key] === null || p[s.key] === undefined ? null : `${(i / n) * w},${hgt - pad - (p[s.key] / max) * (hgt - 2 * pad)}`)).filter(Boolean);
    if (coords.length) box.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: s.color, "stroke-width": 2, "vector-effect": "non-scaling-stroke" }));
  }
  const last = points.length ? points[points.length - 1] : {};
  const legend = series.map((s) => `${s.label}: ${fmt(last[s.key])}${unit}`).join("  ");
  return h("div", { cls: "card chart" }, h("div", {}, h("strong", {}, title), " ", h("span", { cls: "label" }, `max ${fmt(max)}${unit} · ${legend}`)), box);
}

const RENDER = {
  "": (data) => {
    const o = S.tick.overview;
    const pts = S.chart.slice(-300);
    const statuses = Object.entries(o.by_status).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
    show(
      h("h1", {}, "Overview"),
      h("table", { cls: "kv", id: "overview" },
        h("tr", {}, h("td", {}, "agents"), h("td", {}, `${fmt(o.agents)} (${statuses}); ${fmt(o.hibernated)} hibernated`)),
        h("tr", {}, h("td", {}, "mailboxes"), h("td", {}, `${fmt(o.mailbox_depth)} signals waiting`)),
        h("tr", {}, h("td", {}, "dead letters"), h("td", {}, fmt(o.dead_letters))),
        h("tr", {}, h("td", {}, "published"), h("td", {}, fmt(o.published))),
        Object.keys(o.failed_children).length ? h("tr", {}, h("td", {}, "failed trees"), h("td", {}, Object.entries(o.failed_children).map(([k, v]) => `${k}: ${v}`).join("; "))) : null),
      h("h2", {}, "Last minutes"),
      h("div", { cls: "grid", id: "charts" },
        chart("Throughput", pts, [{ key: "throughput", label: "handled/s", color: "#0969da" }], ""),
        chart("Handling latency", pts, [{ key: "p50_ms", label: "p50", color: "#1a7f37" }, { key: "p95_ms", label: "p95", color: "#9a6700" }], " ms"),
        chart("Errors", pts, [{ key: "errors", label: "errors/s", color: "#cf222e" }], "")));
  },

  agents: (data) => {
    if (!$("agents-table")) {
      const q = h("input", { id: "agents-filter", placeholder: "filter by id or name", value: S.agentQuery.q, oninput: (ev) => { S.agentQuery.q = ev.target.value; S.agentQuery.offset = 0; sendView(); } });
      const status = h("select", { id: "agents-status", onchange: (ev) => { S.agentQuery.status = ev.target.value; S.agentQuery.offset = 0; sendView(); } },
        ["", "running", "hibernated", "restarting", "failed", "starting", "stopped"].map((s) => h("option", { value: s, selected: s === S.agentQuery.status }, s || "any status")));
      const prev = h("button", { id: "agents-prev", onclick: () => { S.agentQuery.offset = Math.max(0, S.agentQuery.offset - S.agentQuery.limit); sendView(); } }, "Previous");
      const next = h("button", { id: "agents-next", onclick: () => { S.agentQuery.offset += S.agentQuery.limit; sendView(); } }, "Next");
      const cols = [["id", "Id"], ["name", "Agent"], ["status", "Status"], ["mailbox_depth", "Mailbox", 1], ["handled", "Handled", 1], ["errors", "Errors", 1], ["restarts", "Restarts", 1]];
      const head = h("tr", {}, cols.map(([key, label, num]) => h("th", { "data-key": key, cls: num ? "num" : "", onclick: () => {
        if (S.agentQuery.sort === key) S.agentQuery.desc = !S.agentQuery.desc; else { S.agentQuery.sort = key; S.agentQuery.desc = !!num; }
        sendView();
      } }, label)));
      show(h("h1", {}, "Agents"), h("div", { cls: "toolbar" }, q, status, prev, next, h("span", { id: "agents-range", cls: "muted" })),
        h("p", { id: "agents-note", cls: "muted note" }),
        h("table", { id: "agents-table" }, h("thead", {}, head), h("tbody", {})));
    }
    for (const th of document.querySelectorAll("#agents-table th")) {
      const on = th.dataset.key === data.sort;
      th.classList.toggle("sorted", on);
      th.classList.toggle("asc", on && !data.desc);
    }
    const end = Math.min(data.offset + data.rows.length, data.total);
    $("agents-range").textContent = data.total ? `${fmt(data.offset + 1)}-${fmt(end)} of ${fmt(data.total)}` : "no agents match";
    $("agents-prev").disabled = data.offset === 0;
    $("agents-next").disabled = end >= data.total;
    // Live agents come first, sorted by the column; sleepers follow in the order they fell asleep: there may be
    // millions, and the server pages them as the runtime keeps them rather than sorting them.
    $("agents-note").textContent = data.hibernated
      ? `${fmt(data.live)} running or failed, sorted by the column; then ${fmt(data.hibernated)} hibernated, oldest sleeper first (not sorted; their counts are not known while they sleep).`
      : "";
    const unknown = "not known while it sleeps";
    $("agents-table").tBodies[0].replaceChildren(...data.rows.map((r) => {
      const asleep = r.status === "hibernated";
      const count = (v) => (asleep ? h("td", { cls: "num muted", title: unknown }, "?") : h("td", { cls: "num" }, fmt(v)));
      const status = asleep ? "hibernated" + (r.pending_work ? " · timers" : "") : r.status;
      return h("tr", { "data-agent": r.id, "data-status": r.status },
        h("td", {}, h("a", { href: "#/agent/" + encodeURIComponent(r.id) }, r.id)), h("td", {}, r.name),
        h("td", { cls: "status-" + r.status, title: r.reason || (r.pending_work ? "has timers or cron jobs that will wake it" : "") }, status),
        asleep ? h("td", { cls: "num muted", title: "no mailbox while it sleeps: a message wakes it" }, "asleep") : h("td", { cls: "num" }, `${fmt(r.mailbox_depth)}/${fmt(r.mailbox_size)}`),
        count(r.handled), count(r.errors), count(r.restarts));
    }));
  },

  agent: (data) => {
    if (data.missing) { show(h("h1", {}, "Agent " + data.id), h("p", { cls: "muted" }, "No such agent (it stopped, or never ran).")); return; }
    const restart = S.session.admin && data.status === "failed" ? h("button", { id: "restart-agent", onclick: async () => {
      try { const r = await change("/api/restart", { agent: data.id }); toast(r.detail); } catch (e) { toast("Restart refused: " + e.message, true); }
    } }, "Restart") : null;
    if (data.status === "failed" && data.routes === undefined) {
      show(h("h1", {}, "Agent " + data.id), h("p", { cls: "status-failed", id: "agent-status" }, "failed: " + data.reason), restart);
      return;
    }
    if (data.status === "hibernated" && data.routes === undefined) {
      const pending = data.pending_work === null ? "not known" : data.pending_work ? "yes: timers or cron jobs will wake it" : "no";
      const wake = S.session.admin ? h("button", { id: "wake-agent", onclick: async () => {
        try { const r = await change("/api/wake", { agent: data.id }); toast(r.detail, r.outcome !== "ok"); } catch (e) { toast("Wake refused: " + e.message, true); }
      } }, "Wake") : null;
      show(h("h1", {}, "Agent " + data.id),
        h("table", { cls: "kv", id: "agent-hibernated" },
          h("tr", {}, h("td", {}, "agent"), h("td", {}, data.name || "not known")),
          h("tr", {}, h("td", {}, "status"), h("td", { id: "agent-status", cls: "status-hibernated" }, "hibernated")),
          h("tr", {}, h("td", {}, "pending work"), h("td", { id: "agent-pending" }, pending)),
          h("tr", {}, h("td", {}, "mailbox and counts"), h("td", { cls: "muted" }, "not known while it sleeps; its next message wakes it"))),
        wake,
        h("h2", {}, "State"), h("p", { cls: "muted", id: "agent-state-note" }, data.state_note),
        data.state === null ? null : h("pre", { id: "agent-state" }, data.state));
      return;
    }
    const sched = data.schedules;
    show(
      h("h1", {}, `Agent ${data.id}`),
      h("table", { cls: "kv" },
        h("tr", {}, h("td", {}, "agent"), h("td", {}, `${data.name}${data.description ? " — " + data.description : ""}`)),
        h("tr", {}, h("td", {}, "status"), h("td", { id: "agent-status", cls: "status-" + data.status }, data.status)),
        h("tr", {}, h("td", {}, "mailbox"), h("td", {}, `${fmt(data.mailbox_depth)} / ${fmt(data.mailbox_size)}`)),
        h("tr", {}, h("td", {}, "handled / errors / restarts"), h("td", { id: "agent-counts" }, `${fmt(data.handled)} / ${fmt(data.errors)} / ${fmt(data.restarts)}`)),
        data.parent ? h("tr", {}, h("td", {}, "parent"), h("td", {}, h("a", { href: "#/agent/" + encodeURIComponent(data.parent) }, data.parent))) : null,
        data.children.length ? h("tr", {}, h("td", {}, "children"), h("td", {}, data.children.flatMap((c) => [h("a", { href: "#/agent/" + encodeURIComponent(c) }, c), " "]))) : null),
      restart,
      h("h2", {}, "State"), h("pre", { id: "agent-state" }, data.state),
      h("h2", {}, "Routes"),
      h("table", {}, h("tr", {}, h("th", {}, "pattern"), h("th", {}, "action"), h("th", { cls: "num" }, "priority")),
        data.routes.map((r) => h("tr", {}, h("td", {}, r.pattern), h("td", {}, r.action), h("td", { cls: "num" }, r.priority)))),
      h("h2", {}, "Schedules"),
      h("p", {}, `${fmt(sched.timers)} timers pending`),
      sched.cron.length ? h("table", {}, h("tr", {}, h("th", {}, "job"), h("th", {}, "cron"), h("th", {}, "next")),
        sched.cron.map((c) => h("tr", {}, h("td", {}, c.job_id), h("td", {}, `${c.expr} (${c.tz})`), h("td", {}, time(c.next))))) : null,
      h("h2", {}, "Recent events"),
      data.events.length ? h("table", { id: "agent-events" }, h("tr", {}, h("th", {}, "time"), h("th", {}, "event"), h("th", {}, "details")),
        data.events.map((e) => h("tr", {}, h("td", {}, new Date(e.time * 1000).toISOString().slice(11, 23)), h("td", {}, e.name),
          h("td", {}, Object.entries(e.fields).filter(([k, v]) => v !== null && k !== "agent_id").map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "))))) :
        h("p", { cls: "muted" }, "No events yet (they are recorded while this page is open)."));
  },

  tree: (data) => {
    const node = (n) => h("li", {}, n.kind === "agent" ? h("a", { href: "#/agent/" + encodeURIComponent(n.id) }, n.id) : h("strong", {}, n.id),
      " ", h("span", { cls: n.status ? "status-" + n.status : "muted" }, n.kind === "agent" ? `${n.name} · ${n.status}` : `${n.kind}${n.strategy ? " · " + n.strategy : ""}`),
      n.children && n.children.length ? h("ul", {}, n.children.map(node)) : null);
    show(h("h1", {}, "Supervision tree"), h("div", { cls: "tree", id: "tree" }, h("ul", {}, node(data))),
      data.truncated ? h("p", { cls: "muted" }, "Cut short: see the Agents page for every agent.") : null);
  },

  "dead-letters": (data) => {
    const actions = (d) => h("td", {},
      h("a", { href: "#/dead-letter/" + d.id }, "View"), " ",
      S.session.admin ? h("button", { "data-redrive": d.id, onclick: () => act("redrive", d.id) }, "Redrive") : null, " ",
      S.session.admin ? h("button", { cls: "danger", "data-discard": d.id, onclick: () => act("discard", d.id) }, "Discard") : null);
    show(h("h1", {}, "Dead letters"), h("p", { cls: "muted" }, `${fmt(data.total)} kept; newest first`),
      h("table", { id: "dead-letters-table" }, h("tr", {}, ["id", "when", "reason", "from", "signal", "error", ""].map((c) => h("th", {}, c))),
        data.letters.map((d) => h("tr", { "data-letter": d.id }, h("td", {}, d.id), h("td", {}, time(d.at)), h("td", {}, d.reason), h("td", {}, d.subscription),
          h("td", {}, h("a", { href: "#/trace/" + encodeURIComponent(d.signal_id) }, d.signal_type)), h("td", {}, d.error), actions(d)))));
  },

  bus: (data) => {
    show(h("h1", {}, "Bus"),
      h("table", { cls: "kv", id: "bus-offsets" },
        h("tr", {}, h("td", {}, "offsets"), h("td", {}, `${fmt(data.first_offset)} .. ${fmt(data.last_offset)}`)),
        h("tr", {}, h("td", {}, "published / trimmed"), h("td", {}, `${fmt(data.published)} / ${fmt(data.trimmed)}`)),
        h("tr", {}, h("td", {}, "retention"), h("td", {}, `${data.retention.max_entries === null ? "no count limit" : fmt(data.retention.max_entries) + " records"}, ${data.retention.max_age === null ? "no age limit" : data.retention.max_age + " s"}`))),
      h("h2", {}, "Subscriptions"),
      h("table", { id: "bus-subscriptions" }, h("tr", {}, ["name", "pattern", "durable", "owner", "checkpoint", "lag", "in flight", "delivered", "redelivered", "dead"].map((c) => h("th", {}, c))),
        data.subscriptions.map((s) => h("tr", {}, h("td", {}, s.name), h("td", {}, s.pattern), h("td", {}, s.durable ? "yes" : "no"), h("td", {}, s.owner || "-"),
          h("td", { cls: "num" }, fmt(s.checkpoint)), h("td", { cls: "num" }, fmt(s.lag)), h("td", { cls: "num" }, fmt(s.in_flight)), h("td", { cls: "num" }, fmt(s.delivered)),
          h("td", { cls: "num" }, fmt(s.redelivered)), h("td", { cls: "num" }, fmt(s.dead_lettered))))));
  },
};

async function act(what, id) {
  try {
    const r = await change(`/api/dead-letters/${id}/${what}`, {});
    toast(`${what} ${id}: ${r.detail}`, r.outcome !== "ok");
  } catch (e) { toast(`${what} refused: ${e.message}`, true); }
}

async function renderDeadLetter(id) {
  try {
    const d = await api("/api/dead-letters/" + encodeURIComponent(id));
    show(h("h1", {}, `Dead letter ${d.id}`),
      h("table", { cls: "kv" }, ["reason", "subscription", "attempts", "at", "error"].map((k) => h("tr", {}, h("td", {}, k), h("td", {}, d[k])))),
      S.session.admin ? h("div", { cls: "toolbar" }, h("button", { id: "redrive", onclick: () => act("redrive", d.id) }, "Redrive"), h("button", { cls: "danger", onclick: () => act("discard", d.id) }, "Discard")) : null,
      h("h2", {}, "Signal"), h("pre", { id: "dead-letter-signal" }, JSON.stringify(d.signal, null, 2)),
      h("p", {}, h("a", { href: "#/trace/" + encodeURIComponent(d.signal_id) }, "Trace this signal")));
  } catch (e) { show(h("p", { cls: "status-failed" }, e.message)); }
}

function renderStream() {
  const input = h("input", { id: "stream-pattern", value: S.streamPattern, placeholder: "pattern, such as orders.**" });
  const pause = h("button", { id: "stream-pause", onclick: () => { S.paused = !S.paused; pause.textContent = S.paused ? "Resume" : "Pause"; sendStream(); } }, S.paused ? "Resume" : "Pause");
  show(h("h1", {}, "Live signals"),
    h("form", { cls: "toolbar", onsubmit: (ev) => { ev.preventDefault(); S.streamPattern = input.value || "**"; S.stream = []; sendStream(); renderStreamList(); } },
      input, h("button", { type: "submit" }, "Apply"), pause, h("button", { type: "button", onclick: () => { S.stream = []; renderStreamList(); } }, "Clear")),
    h("ul", { cls: "stream", id: "stream" }));
  renderStreamList();
}
function renderStreamList() {
  const list = $("stream");
  if (!list) return;
  list.replaceChildren(...S.stream.map((s) => h("li", {}, `${time(s.time)}  `, h("a", { href: "#/trace/" + encodeURIComponent(s.id) }, s.type), `  ${s.source}  ${JSON.stringify(s.data)}`)));
}

async function renderTrace(id) {
  const input = h("input", { id: "trace-id", value: id || "", placeholder: "signal id", size: 40 });
  const form = h("form", { cls: "toolbar", onsubmit: (ev) => { ev.preventDefault(); location.hash = "#/trace/" + encodeURIComponent(input.value.trim()); } }, input, h("button", { type: "submit" }, "Trace"));
  show(h("h1", {}, "Trace"), form);
  if (!id) return;
  const row = (s, extra) => h("tr", {}, h("td", { cls: "num" }, s.offset), h("td", { cls: "trace-depth-" + Math.min(s.depth || 0, 4) }, s.type), h("td", {}, s.source), h("td", {}, time(s.time)), h("td", {}, extra || ""),
    h("td", {}, h("a", { href: "#/trace/" + encodeURIComponent(s.id) }, s.id)));
  try {
    const t = await api("/api/trace?id=" + encodeURIComponent(id));
    const head = h("tr", {}, ["offset", "type", "source", "time", "", "id"].map((c) => h("th", {}, c)));
    showMore(
      h("h2", {}, "Caused by"), t.causes.length || t.missing_cause ? h("table", { id: "trace-causes" }, head.cloneNode(true), t.causes.map((s) => row(s)),
        t.missing_cause ? h("tr", {}, h("td", {}, "-"), h("td", { cls: "muted" }, "a signal not in the journal (a call, or trimmed): " + t.missing_cause)) : null) : h("p", { cls: "muted" }, "Nothing: it came from outside."),
      h("h2", {}, "This signal"), h("pre", { id: "trace-signal" }, JSON.stringify(t.signal, null, 2)),
      h("h2", {}, "Caused"), t.effects.length ? h("table", { id: "trace-effects" }, head.cloneNode(true), t.effects.map((s) => row(s, "depth " + s.depth))) : h("p", { cls: "muted" }, "Nothing (yet)."),
      t.truncated ? h("p", { cls: "muted" }, "Cut short.") : null);
  } catch (e) { showMore(h("p", { cls: "status-failed", id: "trace-error" }, e.message)); }
}

boot();
