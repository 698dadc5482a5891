// The duty desk (值班台): the tab shell (tabs, the status line and badges, the refresh
// loop) and the smaller tabs: incident board, patrol, service overview. The alarm console
// is duty_alarms.js, the incident page duty_incident.js, the plant duty_plant.js and the
// hand-over duty_handover.js, loaded before this file. Draws from /api/v1 and patches in place
// (sw.patch); the live stream and a 1 s timer keep it current.
"use strict";
// `/incidents/{id}` is this page showing one incident (a URL one can share).
const incidentId = (location.pathname.match(/^\/incidents\/(\d+)$/) || [])[1];
let tab = incidentId ? "incident" : location.hash.slice(1) || localStorage.getItem("tab") || "alarms";
const { t, tp, esc, time } = sw;
const getJSON = sw.get;

function renderIncidents(incidents, board) {
  if (!incidents.length) return `<div class="card empty">${t("no_incidents")}</div>`;
  return incidents.map(i => {
    const clocks = board.filter(c => c.owner_id === i.id).map(c => `<div>${esc(tp("sla_", c.sla))}: ${dutyIncident.clockText(c)}</div>`).join("");
    return `<div class="card" data-incident="${i.id}" data-key="i:${i.id}"><h2><a class="open" href="/incidents/${i.id}">${dutyIncident.head(i)}</a></h2>
      <small>${time(i.reported_at)} · ${esc(dutyIncident.place(i.location))}</small><div>${clocks}</div></div>`;
  }).join("");
}

const table = dutyIncident.table;

const requestKind = k => t(k.type === "repair" ? (k.emergency ? "rk_emergency_repair" : "rk_repair")
  : k.type === "complaint" ? (k.important ? "rk_important_complaint" : "rk_complaint") : "rk_suggestion");

/// A follow-up's record (`request:7`, `incident:3`) as a link to its page.
function followupLink(reference) {
  const [kind, id] = String(reference).split(":");
  const href = kind === "request" ? `/service/requests/${id}` : `/incidents/${id}`;
  return `<a href="${href}">#${esc(id)}</a>`;
}

function renderService(requests, followups, notices) {
  const req = requests.map(r => `<tr data-request="${r.id}" class="${r.overdue ? "unack" : ""}">
      <td><a href="/service/requests/${r.id}">#${r.id}</a> ${esc(requestKind(r.kind))}</td><td>${esc(r.unit)}</td><td>${esc(r.summary)}</td>
      <td class="${r.overdue ? "s-red" : ""}">${esc(tp("rs_", r.state))}</td><td>${time(r.received_at)}</td></tr>`);
  const fu = followups.map(f => `<tr><td>${followupLink(f.reference)}</td><td>${esc(f.location)}</td><td>${esc(f.summary)}</td>
      <td class="${f.overdue ? "s-red" : "s-amber"}">${time(f.due_at)}</td></tr>`);
  const no = notices.map(n => `<tr><td><span class="badge lv-${esc(n.color)}">${esc(tp("lv_", n.level))}</span></td>
      <td>${esc(n.title)}</td><td>${time(n.expires_at)}</td></tr>`);
  return table(t("requests"), ["#", t("unit_col"), t("message"), t("state"), t("since")], req)
    + table(t("followups"), ["", t("unit_col"), t("message"), t("deadline")], fu)
    + table(t("notices"), [t("kind"), t("title"), t("deadline")], no);
}

function pct(x) { return x == null ? "–" : (x * 100).toFixed(1) + "%"; }

function renderKpis(report) {
  const rows = (report.kpis || []).map(k => `<tr data-kpi="${esc(k.name)}"><td>${esc(t(k.name))}</td>
      <td class="${k.met === false ? "s-red" : k.met ? "s-green" : ""}">${pct(k.ratio)} (${k.count}/${k.of})</td><td>${pct(k.target)}</td></tr>`);
  return table(t("kpis"), [t("kpi"), t("value"), t("target")], rows);
}

function renderInspections(due) {
  if (!due.length) return "";
  const rows = due.map(d => `<tr data-unit="${esc(d.unit)}"><td>${esc(d.unit)}</td><td>${time(d.due_at)}</td><td class="${d.state === "overdue" ? "s-red" : "s-amber"}">${esc(t(d.state))}</td></tr>`).join("");
  return `<div class="card"><h2>${t("vacant_due")}</h2><table><thead><tr><th>${t("unit_col")}</th><th>${t("deadline")}</th><th>${t("state")}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function renderPatrol(tours) {
  if (!tours.length) return `<div class="card empty">—</div>`;
  const rows = tours.map(x => {
    const done = (x.stops || []).filter(s => s.done_at).length;
    return `<tr><td>${esc(x.route)}</td><td>${time(x.scheduled_start)}</td><td>${esc(tp("ts_", x.status))}</td><td>${done}/${(x.stops || []).length}</td></tr>`;
  }).join("");
  return `<div class="card"><h2>${t("tours")}</h2><table><thead><tr><th>${t("route")}</th><th>${t("since")}</th><th>${t("state")}</th><th>${t("progress")}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

// The month's KPIs read every request of the period: once a minute is enough for them.
let kpiCache = { at: 0, report: { kpis: [] } };
async function monthKpis() {
  if (Date.now() - kpiCache.at > 60000) {
    const report = await getJSON("/api/v1/kpis").catch(() => null);
    if (report) kpiCache = { at: Date.now(), report };
  }
  return kpiCache.report;
}

const loaders = {
  incidents: async () => { const [i, b] = await Promise.all([getJSON("/api/v1/incidents"), getJSON("/api/v1/incidents/board")]); return renderIncidents(i, b); },
  service: async () => {
    const [r, f, n] = await Promise.all([
      getJSON("/api/v1/requests").catch(() => []), getJSON("/api/v1/followups/due").catch(() => []), getJSON("/api/v1/notices?current=true").catch(() => []),
    ]);
    return renderService(r, f, n) + renderKpis(await monthKpis());
  },
  handover: () => dutyHandover.html(),
  registers: () => dutyRegisters.html(),
  patrol: async () => {
    const [tours, due] = await Promise.all([getJSON("/api/v1/patrol/tours"), getJSON("/api/v1/inspections/due").catch(() => [])]);
    return renderPatrol(tours) + renderInspections(due);
  },
  plant: () => dutyPlant.html(),
};

// The status line on every tab: unacknowledged alarms by priority, breached and nearly
// breached clocks, overdue requests, the patrol, the link; and a badge on each tab where
// something waits for a person. The board, requests, tours, late keys and due tasks are
// asked every 5 s.
let summary = { at: 0, board: [], requests: [], tours: [], keys: [], tasks: [] };
async function loadSummary() {
  if (Date.now() - summary.at < 5000) return summary;
  const [board, requests, tours, keys, tasks] = await Promise.all([
    getJSON("/api/v1/incidents/board").catch(() => summary.board),
    getJSON("/api/v1/requests").catch(() => summary.requests),
    getJSON("/api/v1/patrol/tours").catch(() => summary.tours),
    getJSON("/api/v1/keys/overdue").catch(() => summary.keys),
    getJSON("/api/v1/maintenance/due").catch(() => summary.tasks),
  ]);
  summary = { at: Date.now(), board, requests, tours, keys, tasks };
  return summary;
}

function renderStatus(alarms, s) {
  const unack = alarms.filter(a => a.state.startsWith("unack"));
  const byPriority = ["emergency", "high", "medium", "low"]
    .map(p => [p, unack.filter(a => a.priority === p).length]).filter(([, n]) => n);
  const red = s.board.filter(c => c.status === "red").length;
  const amber = s.board.filter(c => c.status === "amber").length;
  const late = s.requests.filter(r => r.overdue).length;
  const missed = s.tours.filter(x => x.status === "incomplete").length;
  const walking = s.tours.filter(x => x.status === "in_progress").length;
  const down = document.body.classList.contains("stale");
  const item = (cls, text) => `<span class="${cls}">${text}</span>`;
  const parts = [
    byPriority.length ? t("sl_unack") + " " + byPriority.map(([p, n]) => `<span class="badge p-${p}">${esc(t(p))} ${n}</span>`).join(" ")
      : item("s-met", t("sl_no_unack")),
    item(red ? "s-red" : "s-met", t("sl_breached", { n: red })),
    item(amber ? "s-amber" : "s-met", t("sl_near", { n: amber })),
    item(late ? "s-red" : "s-met", t("sl_late_requests", { n: late })),
    item(missed ? "s-red" : "s-met", t("sl_patrol", { n: walking, m: missed })),
    item(down ? "s-red" : "s-green", t(down ? "sl_link_down" : "sl_link_up")),
  ];
  sw.patch("statusline", parts.join(" · "));
  // Registers: key sets overdue or missing, maintenance tasks overdue.
  const registers = s.keys.length + s.tasks.filter(x => x.state === "overdue").length;
  const badges = { alarms: unack.length, incidents: red, service: late, patrol: missed, registers };
  document.querySelectorAll("nav.tabs button").forEach(b => {
    const n = badges[b.dataset.tab] || 0;
    let el = b.querySelector(".count");
    if (!n) { if (el) el.remove(); return; }
    if (!el) { el = document.createElement("span"); el.className = "count"; b.append(el); }
    el.textContent = n;
  });
}

// One draw at a time; a call while one runs (an action's answer) draws again after it.
let busy = false, again = false;
async function refresh() {
  if (busy) { again = true; return; }
  busy = true; again = false;
  try {
    document.querySelectorAll("nav.tabs button").forEach(b => b.classList.toggle("active", b.dataset.tab === tab));
    document.querySelectorAll("section.panel").forEach(s => s.classList.toggle("active", s.id === tab));
    if (tab !== "plant") dutyPlant.stop();
    renderStatus(await dutyAlarms.standing(), await loadSummary());
    if (tab === "alarms") await dutyAlarms.draw();
    else if (tab === "incident") await dutyIncident.draw(incidentId);
    else sw.patch(tab, await loaders[tab]());
    sw.fresh();
  } catch (e) {
    /* the banner says the server is out of reach; the page keeps what it showed */
  } finally {
    busy = false;
    if (again) refresh();
  }
}
document.querySelectorAll("nav.tabs button").forEach(b => b.onclick = () => {
  tab = b.dataset.tab; localStorage.setItem("tab", tab);
  if (incidentId) location.href = "/#" + tab; else { location.hash = tab; refresh(); }
});
// Alarms, incidents and scans refresh the page at once; a timer covers values and clocks.
sw.live(["alarm", "incident", "scan", "patrol", "device"], () => refresh());
/// What the tab files call after an action: draw again now.
const duty = { refresh };
refresh();
setInterval(refresh, 1000);
