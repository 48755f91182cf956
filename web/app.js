// SwiftDeploy dashboard: plain JavaScript, no dependencies, served by `swiftdeploy serve`.
// Reads the /v1 API with the token the user typed (sessionStorage only) and follows
// /v1/events (Server-Sent Events read through fetch, so the token goes in a header,
// never in a URL). Every value is written with textContent: nothing from the server
// is ever parsed as HTML.

const TOKEN_KEY = "swiftdeploy.token";
const POINTS = 60;
const $ = (id) => document.getElementById(id);

const state = {
  stream: null, // AbortController of the running event stream
  lastEventId: null,
  backoffMs: 1000,
  series: { stable: { rps: [], err: [], p99: [] }, canary: { rps: [], err: [], p99: [] } },
  historyLines: new Set(),
  serverDown: false,
  stackDown: null,
};

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  return fetch(path, { ...init, headers, cache: "no-store" });
}

function setConnection(kind, text) {
  const el = $("connection");
  el.dataset.state = kind;
  el.textContent = text;
}

function updateBanner() {
  const banner = $("banner");
  const msgs = [];
  if (state.serverDown) {
    msgs.push(
      "The SwiftDeploy server does not answer: the figures below are the last known ones; retrying.",
    );
  }
  if (state.stackDown) {
    msgs.push(`The stack is down: ${state.stackDown}. The dashboard keeps watching.`);
  }
  banner.hidden = msgs.length === 0;
  banner.textContent = msgs.join(" ");
}

function fmt(n, digits = 1, unit = "") {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return `${Number(n).toFixed(digits)}${unit}`;
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  const t = Math.round(s);
  if (t < 120) return `${t} s`;
  if (t < 7200) return `${Math.round(t / 60)} min`;
  return `${(t / 3600).toFixed(1)} h`;
}

function drawChart(svg, values, label, unit) {
  const w = 120, h = 36, pad = 3;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  if (values.length === 0) {
    svg.setAttribute("aria-label", `${label}, no data yet`);
    return;
  }
  const max = Math.max(...values, 1e-9);
  const step = (w - 2 * pad) / Math.max(POINTS - 1, 1);
  const start = w - pad - step * (values.length - 1);
  const d = values.map((v, i) => {
    const x = start + i * step;
    const y = h - pad - (v / max) * (h - 2 * pad);
    return `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(" ");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", d);
  svg.append(path);
  const last = values[values.length - 1];
  svg.setAttribute(
    "aria-label",
    `${label}: ${fmt(last, 2)}${unit} now, highest ${
      fmt(max, 2)
    }${unit} over the last ${values.length} updates`,
  );
}

function pushPoint(variant, key, value) {
  if (value === null || value === undefined) return;
  const arr = state.series[variant][key];
  arr.push(value);
  if (arr.length > POINTS) arr.shift();
}

function renderVariant(name, fig) {
  const root = $(`variant-${name}`);
  const set = (k, v) => (root.querySelector(`[data-k="${k}"]`).textContent = v);
  if (!fig) {
    for (const k of ["weight", "rps", "err", "p99"]) set(k, "–");
    set("note", name === "canary" ? "No canary runs." : "No figures yet.");
  } else {
    set("weight", fmt(fig.weight, 0, " %"));
    set("rps", fmt(fig.rps, 2));
    set("err", fmt(fig.err, 2, " %"));
    set("p99", fig.p99 === null || fig.p99 === undefined ? "–" : `${fmt(fig.p99, 1)} ms`);
    set(
      "note",
      [fig.version ? `version ${fig.version}` : "", fig.note ?? ""].filter(Boolean).join(" · "),
    );
    pushPoint(name, "rps", fig.rps);
    pushPoint(name, "err", fig.err);
    pushPoint(name, "p99", fig.p99);
  }
  const labels = {
    rps: ["Requests per second", ""],
    err: ["Error rate", " %"],
    p99: ["P99 latency", " ms"],
  };
  for (const svg of root.querySelectorAll("svg[data-chart]")) {
    const k = svg.dataset.chart;
    drawChart(svg, state.series[name][k], `${name} ${labels[k][0]}`, labels[k][1]);
  }
}

function variantFigures(v) {
  if (!v) return null;
  return {
    weight: v.weight_percent,
    rps: v.requests_per_second,
    err: v.error_rate_percent,
    p99: v.p99_latency_ms,
    version: v.version,
    note: v.unknown ?? "",
  };
}

function renderPolicy(policy) {
  const ul = $("policy");
  ul.replaceChildren();
  const entries = Object.entries(policy ?? {});
  if (entries.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No policy figures yet.";
    ul.append(li);
    return;
  }
  for (const [domain, p] of entries) {
    const li = document.createElement("li");
    const strong = document.createElement("span");
    const result = p?.result ?? "UNKNOWN";
    strong.className = result === "PASS" ? "pass" : result === "FAIL" ? "fail" : "unknown";
    strong.textContent = result;
    li.append(`${domain}: `, strong);
    const reasons = p?.reasons ?? [];
    if (reasons.length > 0) {
      const inner = document.createElement("ul");
      for (const r of reasons) {
        const item = document.createElement("li");
        item.textContent = r;
        inner.append(item);
      }
      li.append(inner);
    } else {
      li.append(result === "PASS" ? " (all limits met)" : "");
    }
    ul.append(li);
  }
}

function renderStatus(doc) {
  if (!doc || typeof doc !== "object") return;
  $("project").textContent = doc.project ? `· ${doc.project}` : "";
  $("mode").textContent = doc.mode ?? "–";
  $("version").textContent = doc.version ?? "–";
  $("chaos").textContent = doc.chaos ?? "–";
  $("uptime").textContent = seconds(doc.uptime_seconds);
  $("updated").textContent = doc.timestamp ? new Date(doc.timestamp).toLocaleTimeString() : "–";
  state.stackDown = doc.app && doc.app.reachable === false
    ? (doc.app.error ?? "the app does not answer")
    : null;
  updateBanner();

  const r = doc.rollout;
  if (r) {
    renderVariant("stable", variantFigures(r.stable));
    renderVariant("canary", variantFigures(r.canary));
    $("rollout-step").textContent = r.step?.text ?? "–";
    $("rollout-phase").textContent = `${r.phase}${r.ended ? " (ended)" : ""}${
      r.driven === false ? ", not driven" : ""
    }`;
    $("rollout-left").textContent = r.time_left_seconds === null
      ? "–"
      : seconds(r.time_left_seconds);
    const a = r.last_analysis;
    $("rollout-analysis").textContent = a
      ? `${a.outcome} at step ${a.step} (weight ${a.weight} %)${a.reason ? `: ${a.reason}` : ""}`
      : r.abort
      ? `aborted by ${r.abort.by}${
        r.abort.reasons?.length ? `: ${r.abort.reasons.join("; ")}` : ""
      }`
      : "none yet";
  } else {
    const w = doc.window ?? {};
    renderVariant("stable", {
      weight: doc.app?.reachable === false ? null : 100,
      rps: w.requests_per_second ?? null,
      err: w.error_rate_percent ?? null,
      p99: w.p99_latency_ms ?? null,
      version: doc.version,
      note: w.basis
        ? `figures over ${w.basis === "lifetime" ? "the app's lifetime" : `${seconds(w.seconds)}`}`
        : "",
    });
    renderVariant("canary", null);
    $("rollout-step").textContent = "No rollout";
    $("rollout-phase").textContent = "–";
    $("rollout-left").textContent = "–";
    $("rollout-analysis").textContent = "–";
  }
  renderPolicy(doc.policy);
}

function describeEvent(rec) {
  const d = rec?.data ?? {};
  const bits = [];
  for (
    const k of [
      "version",
      "mode",
      "from",
      "to",
      "weight",
      "outcome",
      "step",
      "reason",
      "kind",
      "status",
    ]
  ) {
    if (d[k] !== undefined && d[k] !== null && typeof d[k] !== "object") bits.push(`${k} ${d[k]}`);
  }
  return bits.slice(0, 4).join(", ");
}

/** Events the timeline leaves out: a status run records one every tick. */
const QUIET_EVENTS = new Set(["status_scrape"]);

function addHistory(item, atTop) {
  if (!item || state.historyLines.has(item.line)) return;
  if (QUIET_EVENTS.has(item.record?.event)) return;
  state.historyLines.add(item.line);
  const rec = item.record ?? {};
  const li = document.createElement("li");
  li.dataset.line = String(item.line);
  const time = document.createElement("time");
  if (rec.ts) {
    time.dateTime = rec.ts;
    time.textContent = new Date(rec.ts).toLocaleString();
  }
  const ev = document.createElement("span");
  ev.className = "ev";
  ev.textContent = rec.event ?? "?";
  const who = rec.actor?.user ? ` by ${rec.actor.user}` : "";
  const what = describeEvent(rec);
  li.append(time, ev, `${who}${what ? ` — ${what}` : ""}`);
  const ol = $("history");
  if (atTop) ol.prepend(li);
  else ol.append(li);
  while (ol.children.length > 200) ol.lastElementChild.remove();
}

async function loadHistory() {
  try {
    const res = await api("/v1/history?tail=200");
    if (!res.ok) return;
    const doc = await res.json();
    for (const item of [...doc.events].reverse()) addHistory(item, false);
  } catch { /* the stream's reconnects report the server's state */ }
}

async function loadReleases() {
  const box = $("releases");
  const note = (text) => {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = text;
    box.replaceChildren(p);
  };
  let res;
  try {
    res = await api("/v1/releases");
  } catch {
    note("Releases: not available (the server does not answer).");
    return;
  }
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try {
      msg = (await res.json()).message ?? msg;
    } catch { /* not JSON */ }
    note(`Releases: not available (${msg}).`);
    return;
  }
  const doc = await res.json();
  const list = Array.isArray(doc) ? doc : doc.releases ?? [];
  if (list.length === 0) {
    note("No releases recorded yet.");
    return;
  }
  const table = document.createElement("table");
  const cols = ["number", "kind", "status", "version", "created_at"];
  const head = table.createTHead().insertRow();
  for (const c of [...cols, "evidence"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.replace("_", " ");
    head.append(th);
  }
  const body = table.createTBody();
  for (const rel of list.slice(-20).reverse()) {
    const row = body.insertRow();
    for (const c of cols) row.insertCell().textContent = rel[c] ?? rel.record?.[c] ?? "–";
    const cell = row.insertCell();
    const id = rel.number ?? rel.id;
    if (id === undefined) {
      cell.textContent = "–";
      continue;
    }
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `release ${id}`;
    const pre = document.createElement("pre");
    pre.textContent = "…";
    details.append(summary, pre);
    details.addEventListener("toggle", async () => {
      if (!details.open || pre.dataset.loaded) return;
      try {
        const r = await api(`/v1/releases/${encodeURIComponent(id)}`);
        pre.textContent = r.ok
          ? JSON.stringify(await r.json(), null, 2)
          : `not available (HTTP ${r.status})`;
        pre.dataset.loaded = "1";
      } catch {
        pre.textContent = "not available (the server does not answer)";
      }
    });
    cell.append(details);
  }
  box.replaceChildren(table);
}

async function loadStatus() {
  try {
    const res = await api("/v1/status");
    state.serverDown = false;
    if (res.ok) renderStatus(await res.json());
    else if (res.status === 401 || res.status === 403) setConnection("down", "Token refused");
  } catch {
    state.serverDown = true;
  }
  updateBanner();
}

/** Parses SSE frames from a fetch body; calls onFrame({id, event, data}). */
async function readEvents(res, onFrame) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const frame = { data: [] };
      for (const line of block.split("\n")) {
        if (line.startsWith("id:")) frame.id = line.slice(3).trim();
        else if (line.startsWith("event:")) frame.event = line.slice(6).trim();
        else if (line.startsWith("data:")) frame.data.push(line.slice(5).replace(/^ /, ""));
      }
      if (frame.event || frame.data.length) onFrame({ ...frame, data: frame.data.join("\n") });
    }
  }
}

async function stream() {
  state.stream?.abort();
  const ctl = new AbortController();
  state.stream = ctl;
  while (!ctl.signal.aborted) {
    if (!token()) {
      setConnection("idle", "Enter a token to watch the deployment");
      return;
    }
    try {
      const headers = { accept: "text/event-stream" };
      if (state.lastEventId) headers["last-event-id"] = state.lastEventId;
      const res = await api("/v1/events", { headers, signal: ctl.signal });
      state.serverDown = false;
      updateBanner();
      if (res.status === 401 || res.status === 403) {
        setConnection("down", `Token refused (${res.status}): enter another`);
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setConnection("live", "Live: following events");
      state.backoffMs = 1000;
      await readEvents(res, (f) => {
        if (f.id) state.lastEventId = f.id;
        if (f.event === "status") renderStatus(JSON.parse(f.data));
        else if (f.event === "history") {
          addHistory(JSON.parse(f.data), true);
          const ev = JSON.parse(f.data)?.record?.event ?? "";
          if (ev.startsWith("release") || ev === "deploy" || ev === "rollout_completed") {
            loadReleases();
          }
        } else if (f.event === "shutdown") {
          setConnection("reconnecting", "The server is stopping; reconnecting");
        }
      });
      if (ctl.signal.aborted) return;
      setConnection("reconnecting", "Event stream ended; reconnecting");
    } catch (error) {
      if (ctl.signal.aborted) return;
      state.serverDown = error instanceof TypeError; // fetch's network failure
      updateBanner();
      setConnection(
        state.serverDown ? "down" : "reconnecting",
        state.serverDown ? "Server unreachable; retrying" : "Reconnecting",
      );
    }
    await new Promise((r) => setTimeout(r, state.backoffMs));
    state.backoffMs = Math.min(state.backoffMs * 2, 8000);
  }
}

async function follow(op, out) {
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    let doc;
    try {
      const res = await api(op.url ?? `/v1/operations/${op.id}`);
      if (!res.ok) continue;
      doc = await res.json();
    } catch {
      continue;
    }
    if (doc.state && doc.state !== "running") {
      out.dataset.kind = doc.state === "succeeded" ? "accepted" : "refused";
      out.textContent = `${doc.kind ?? "operation"} ${doc.id}: ${doc.state}` +
        (doc.exit_code !== undefined && doc.exit_code !== null ? ` (exit ${doc.exit_code})` : "");
      loadStatus();
      return;
    }
  }
}

async function act(button) {
  const out = $("action-result");
  const label = button.textContent;
  button.disabled = true;
  out.dataset.kind = "";
  out.textContent = `${label}: sending…`;
  try {
    const res = await api(button.dataset.path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    let doc = {};
    try {
      doc = await res.json();
    } catch { /* no body */ }
    if (res.status === 202) {
      out.dataset.kind = "accepted";
      out.textContent = `${label}: accepted, operation ${doc.id ?? ""} running`;
      follow({ id: doc.id, url: res.headers.get("location") ?? doc.url }, out);
    } else {
      out.dataset.kind = "refused";
      const why = res.status === 401
        ? "a token of deploy scope is needed"
        : res.status === 403
        ? "this token's scope is read only; a deploy-scope token is needed"
        : doc.message ?? "";
      out.textContent = `${label}: refused (${res.status}): ${why}`;
    }
  } catch {
    out.dataset.kind = "refused";
    out.textContent = `${label}: the server does not answer`;
  } finally {
    button.disabled = false;
  }
}

function showTokenState() {
  $("token-state").textContent = token() ? "A token is set for this tab" : "No token";
}

// The figures and charts of each variant, copied from the one <template>
// before the article's note, so the two panels cannot differ in shape.
function buildVariants() {
  const body = $("variant-body").content;
  for (const name of Object.keys(state.series)) {
    $(`variant-${name}`).querySelector("h3").after(body.cloneNode(true));
  }
}

function start() {
  buildVariants();
  showTokenState();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("token").value.trim();
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    $("token").value = "";
    showTokenState();
    state.lastEventId = null;
    loadStatus();
    loadHistory();
    loadReleases();
    stream();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.stream?.abort();
    showTokenState();
    setConnection("idle", "Enter a token to watch the deployment");
  });
  for (const b of document.querySelectorAll(".actions button")) {
    b.addEventListener("click", () => act(b));
  }
  if (token()) {
    loadStatus();
    loadHistory();
    loadReleases();
  }
  stream();
  // A slow safety net beside the stream: the status and releases while the stream is down.
  setInterval(() => {
    if ($("connection").dataset.state !== "live" && token()) loadStatus();
  }, 5000);
}

start();
