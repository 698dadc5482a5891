// The duty desk (值班台): alarm console, incident board and page, patrol, service
// overview, plant with sparklines, hand-overs. Draws from /api/v1 and patches in place
// (sw.patch); the live stream and a 1 s timer keep it current.
"use strict";
// `/incidents/{id}` is this page showing one incident (a URL one can share).
const incidentId = (location.pathname.match(/^\/incidents\/(\d+)$/) || [])[1];
let tab = incidentId ? "incident" : location.hash.slice(1) || localStorage.getItem("tab") || "alarms";
const { t, tp, esc, time, meta, me, actor } = sw;
const getJSON = sw.get;

async function post(url, body) {
  await sw.post(url, body);
  refresh();
}
window.ack = id => { const a = actor(); if (a) post(`/api/v1/alarms/${encodeURIComponent(id)}/acknowledge`, { actor: a }); };
window.shelve = id => { const a = actor(); if (a) post(`/api/v1/alarms/${encodeURIComponent(id)}/shelve`, { actor: a, reason: "shelved from console", minutes: 60 }); };

let knownEmergency = new Set();
function beep() {
  try { const c = new AudioContext(), o = c.createOscillator(); o.frequency.value = 880; o.connect(c.destination); o.start(); o.stop(c.currentTime + 0.4); } catch (e) {}
}

// Names the page shows for ids: a device's configured name, an alarm's message. Ids
// (`fire_panel.zone3_alarm:discrete`) stay in `title` and `data-` attributes.
let deviceNames = {};
let alarmMessages = {};
let lastAlarms = [];
async function loadAlarms() {
  if (!Object.keys(deviceNames).length) {
    const d = await getJSON("/api/v1/devices").catch(() => []);
    deviceNames = Object.fromEntries(d.map(x => [x.id, x.name]));
  }
  const alarms = await getJSON("/api/v1/alarms");
  for (const a of alarms) alarmMessages[a.id] = a.message;
  lastAlarms = alarms;
  return alarms;
}
/// An alarm in words: its message, else its device's name, never its id.
const alarmName = id => alarmMessages[id] || deviceNames[String(id).split(".")[0]] || t("alarms");
/// An incident's place: an alarm opens one at its device's id; show the device's name.
const place = loc => deviceNames[loc] || loc;
/// An incident category: the catalogue's word, else the key made readable (a site's own).
const category = c => t("cat_" + c) === "cat_" + c ? String(c).replace(/_/g, " ") : t("cat_" + c);

function renderAlarms(alarms) {
  const unackEmergency = alarms.filter(a => a.priority === "emergency" && a.state === "unack_active");
  document.title = (unackEmergency.length ? `(${unackEmergency.length}) ` : "") + "sitewatch · " + sw.siteName;
  if (unackEmergency.some(a => !knownEmergency.has(a.id))) beep();
  knownEmergency = new Set(unackEmergency.map(a => a.id));
  if (!alarms.length) return `<div class="card empty">${t("no_alarms")}</div>`;
  const rows = alarms.map(a => `
    <tr class="${a.state === "unack_active" || a.state === "unack_returned" ? "unack" : ""}" data-alarm="${esc(a.id)}" data-key="a:${esc(a.id)}">
      <td><span class="badge p-${esc(a.priority)}">${esc(t(a.priority))}</span></td>
      <td title="${esc(a.id)}">${esc(a.message)}<br><small>${esc(deviceNames[a.device] || "")}${a.repeat_count > 1 ? " ×" + a.repeat_count : ""}</small></td>
      <td class="state">${esc(t(a.state))}${a.shelved ? ` <span class="badge">${t("shelved")}</span>` : ""}${a.escalation_level ? ` <span class="badge">${t("escalated")} ${a.escalation_level}</span>` : ""}</td>
      <td>${time(a.raised_at)}</td>
      <td>${a.state.startsWith("unack") ? `<button onclick="ack('${esc(a.id)}')">${t("ack")}</button>` : ""}
          ${a.shelved ? "" : `<button onclick="shelve('${esc(a.id)}')">${t("shelve")}</button>`}</td>
    </tr>`).join("");
  return `<div class="card"><table><thead><tr><th>${t("priority")}</th><th>${t("message")}</th><th>${t("state")}</th><th>${t("since")}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function clockText(c) {
  if (c.status === "met") return `<span class="s-met">${t("met")}</span>`;
  const s = c.remaining_secs;
  if (s === null || s === undefined) return "";
  return `<span class="s-${esc(c.status)}">${t(s < 0 ? "overdue_by" : "left", { d: sw.dur(s) })}</span>`;
}

// The steps each state allows (core incidents/workflow.rs); a note and a cancel are open
// to every open state. The server still decides: a refused step shows its message.
const INCIDENT_STEPS = {
  reported: ["dispatch", "arrive_on_site"],
  dispatched: ["arrive_on_site", "make_safe", "resolve"],
  on_site: ["make_safe", "resolve"],
  resolved: ["follow_up"],
  followed_up: ["close"],
};

function incidentActions(i) {
  const role = meta("role");
  if (i.state === "closed" || i.state === "cancelled" || role === "viewer") return "";
  // Customer service notes incidents; field steps are the duty engineer's (policy.rs).
  const steps = role === "customer_service" ? ["add_note"] : [...(INCIDENT_STEPS[i.state] || []), "add_note", "cancel"];
  return `<div class="actions">${steps.map(a => `<button data-action="${a}" onclick="incidentAct(${i.id}, '${a}')">${tp("do_", a)}</button>`).join("")}</div>`;
}

window.incidentAct = (id, type) => {
  const a = actor(); if (!a) return;
  const action = { type };
  let note = "";
  if (type === "add_note" && !(note = (prompt(t("note")) || "").trim())) return;
  if (type === "cancel" && !(action.reason = (prompt(t("reason")) || "").trim())) return;
  post(`/api/v1/incidents/${id}/commands`, { actor: a, note, action });
};

function incidentHead(i) {
  return `#${i.id} ${esc(i.title)} <span class="badge">${esc(category(i.category))}</span> <span class="badge state">${esc(tp("st_", i.state))}</span>`;
}

function renderIncidents(incidents, board) {
  if (!incidents.length) return `<div class="card empty">${t("no_incidents")}</div>`;
  return incidents.map(i => {
    const clocks = board.filter(c => c.owner_id === i.id).map(c => `<div>${esc(tp("sla_", c.sla))}: ${clockText(c)}</div>`).join("");
    return `<div class="card" data-incident="${i.id}" data-key="i:${i.id}"><h2><a class="open" href="/incidents/${i.id}">${incidentHead(i)}</a></h2>
      <small>${time(i.reported_at)} · ${esc(place(i.location))}</small><div>${clocks}</div>${incidentActions(i)}</div>`;
  }).join("");
}

// One line for a timeline entry: what happened, then its details, in words.
function eventText(kind) {
  const k = kind || {}, type = k.type || "";
  return esc(tp("ev_", type)) + eventDetail(k).map(d => " · " + d).join("");
}

function eventDetail(k) {
  switch (k.type) {
    case "opened": return [esc(category(k.category)), esc(sourceText(k.source))];
    case "state_changed": return [`${esc(tp("st_", k.from))} → ${esc(tp("st_", k.to))}`];
    case "sla_started": case "sla_breached": return [esc(tp("sla_", k.sla)), `${t("deadline")} ${time(k.due_at)}`];
    case "sla_met": return [esc(tp("sla_", k.sla))].concat(k.late ? [t("late")] : []);
    case "attached": return [esc(tp("att_", k.kind)), esc(k.attachment_id)];
    case "alarm_attached": return [esc(alarmName(k.alarm_id)), time(k.raised_at)];
    case "insurer_notified": return [esc((k.call || {}).insurer || "")].filter(Boolean);
    case "loss_estimated": return [t("yuan", { n: (k.amount_fen / 100).toFixed(2) })];
    case "claim_item_filed": return [esc(tp("ci_", k.item))];
    case "evidence_waived": return [esc(k.reason)].concat((k.open || []).map(c => esc(tp("sla_", c))));
    case "raised_to_accident": return [`${esc(category(k.from))} → ${esc(category(k.to))}`];
    case "household_linked": case "household_contacted": return [esc(k.unit)];
    case "damage_listed": return [esc(k.unit), esc(k.item)];
    case "compensation_recorded": return [esc(k.unit), esc(k.outcome)];
    default: return [];
  }
}

/// Where an incident came from, in words: an alarm by its message, a request by number.
function sourceText(src) {
  const kind = kindOf(src), v = typeof src === "object" ? Object.values(src)[0] : null;
  const what = kind === "alarm" ? alarmName(v) : kind === "service_request" ? `#${v}` : v;
  return tp("src_", kind) + (what == null ? "" : " " + what);
}

function clockRow(i, c) {
  const running = (i.board || []).find(v => v.sla === c.sla);
  const status = running ? clockText(running)
    : `<span class="${c.breached ? "s-red" : "s-met"}">${c.breached ? t("overdue") : t("met")} ${time(c.met_at)}</span>`;
  return `<tr data-sla="${esc(c.sla)}"><td>${esc(tp("sla_", c.sla))}</td><td>${time(c.due_at)}</td><td class="clock">${status}</td></tr>`;
}

function renderIncidentPage(i, notices) {
  const clocks = i.clocks.map(c => clockRow(i, c))
    .concat((i.pending_clocks || []).map(r => `<tr><td>${esc(tp("sla_", r.sla))}</td><td>—</td><td><small>${t("pending")}</small></td></tr>`));
  const timeline = i.timeline.map((e, n) => `<tr data-event="${n}"><td>${time(e.at)}</td><td class="actor">${esc(e.actor)}</td>
      <td class="what">${eventText(e.kind)}</td><td class="note">${esc(e.note)}</td></tr>`);
  const no = notices.map(n => {
    const done = k => n.deliveries.filter(d => d[k]).length;
    return `<tr data-notice="${n.id}"><td><span class="badge lv-${esc(n.color)}">${esc(tp("lv_", n.level))}</span></td>
      <td>${esc(n.title)}<br><small>${esc(n.body)}</small></td><td>${time(n.created_at)}</td>
      <td>${done("delivered_at")}/${n.deliveries.length} ${t("delivered")} · ${done("confirmed_at")} ${t("confirmed")}</td></tr>`;
  });
  const hh = i.households.map(h => `<tr data-unit="${esc(h.unit)}"><td>${esc(h.unit)}</td><td>${esc(h.owner || "")}</td><td>${time(h.contacted_at)}</td>
      <td>${esc(h.damaged_items.join("、"))}</td><td>${esc(h.compensation || "")}</td></tr>`);
  const alarms = i.alarm_trips.map(a => `<tr><td title="${esc(a.alarm_id)}">${esc(alarmName(a.alarm_id))}</td><td>${time(a.raised_at)}</td></tr>`);
  const files = i.attachments.map(a => {
    const url = `/api/v1/files/${encodeURIComponent(a.id)}`;
    const label = `${esc(a.caption || a.id)}<br><small>${esc(tp("att_", a.kind))} · ${esc(a.added_by)} · ${time(a.added_at)}</small>`;
    const thumb = /^image\/(jpeg|png)$/.test(a.content_type) ? `<img src="${url}" alt="${esc(a.caption)}" loading="lazy"><br>` : "";
    return `<a class="attachment" href="${url}" target="_blank" rel="noopener">${thumb}${label}</a>`;
  }).join("");
  const source = sourceText(i.source);
  return `<div class="card" data-incident-page="${i.id}"><a href="/#incidents">${t("back")}</a>
      <h2>${incidentHead(i)}</h2>
      <small>${t("location")}: ${esc(place(i.location))} · ${time(i.reported_at)} · ${t("source")}: ${esc(source)}${i.cancel_reason ? " · " + esc(i.cancel_reason) : ""}</small>
      <table class="clocks"><tbody>${clocks.join("")}</tbody></table>${incidentActions(i)}</div>`
    + table(t("timeline"), [t("when"), t("actor_col"), t("message"), t("note")], timeline, "timeline")
    + table(t("incident_notices"), [t("kind"), t("title"), t("when"), ""], no, "incident-notices")
    + table(t("households"), [t("unit_col"), t("owner"), t("contacted"), t("damage"), t("compensation")], hh)
    + `<div class="actions"><a class="btn" href="/service/notices/new?incident=${i.id}">${t("notify_households")}</a></div>`
    + table(t("linked_alarms"), [t("message"), t("since")], alarms)
    + `<div class="card"><h2>${t("attachments")}</h2>${files ? `<div class="thumbs">${files}</div>` : `<div class="empty">${t("none")}</div>`}</div>`;
}

const kindOf = k => typeof k === "string" ? k : Object.keys(k || {})[0] || "";

function table(title, head, rows, id = "") {
  const body = rows.length ? rows.join("") : `<tr><td colspan="${head.length}" class="empty">${t("none")}</td></tr>`;
  return `<div class="card"><h2>${title}</h2><table${id ? ` id="${id}"` : ""}><thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table></div>`;
}

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

function renderHandovers(list) {
  const rows = list.slice(-20).reverse().map(h => {
    const acked = h.entries.filter(e => e.acknowledged).length;
    return `<tr data-handover="${h.id}"><td>#${h.id}</td><td>${time(h.started_at)}</td><td>${esc(h.outgoing)}</td>
      <td>${h.completed ? esc(h.completed[0]) : ""}</td><td class="${h.completed ? "" : "s-amber"}">${acked}/${h.entries.length} ${t("acked")}</td></tr>`;
  });
  return table(t("handovers"), ["#", t("since"), t("outgoing"), t("incoming"), t("open_items")], rows);
}

function renderHistory(rows) {
  const items = rows.map(r => {
    const b = r.body || {};
    const kind = (b.transition || {}).kind;
    return `<tr><td>${time(r.at)}</td><td title="${esc(b.alarm)}">${esc(alarmName(b.alarm))}</td><td>${esc(kind ? tp("tr_", kind) : "")}</td><td>${esc(b.actor || "")}</td></tr>`;
  });
  return table(t("history"), [t("when"), t("message"), t("state"), ""], items);
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

// A point's name and state words in the page's language, from its profile: the zh words
// where the profile gives them, else the profile's description and states, else the name.
const zhOf = p => (sw.lang === "zh" && p.zh) || {};
const pointName = p => zhOf(p).name || p.description || p.name.replace(/_/g, " ");

function fmt(p) {
  if (p.value === null || p.value === undefined) return "—";
  const key = String(p.value), label = (zhOf(p).states || {})[key] || (p.states && p.states[key]);
  if (label) return esc(label);
  return esc(Math.abs(p.value) >= 1000 ? p.value.toFixed(1) : Number(p.value.toPrecision(6)).toString());
}

// Sparklines: the last hour of each numeric point, from one batch request when the tab
// opens, then extended by the samples history keeps (SSE, `samples=recorded`) while it
// stays open. Times are the daemon's (`now` of /api/v1/points), not the browser's.
const HOUR = 3600e3;
const spark = { series: {}, es: null };
const numeric = p => !p.states || !Object.keys(p.states).length;

function sparkAdd(id, at, value) {
  const s = spark.series[id] || (spark.series[id] = []);
  if (s.length && s[s.length - 1][0] >= at) return;
  s.push([at, value]);
  while (s[0][0] < at - HOUR) s.shift();
}

function sparkFollow(points) {
  if (spark.es) return;
  spark.series = {};
  spark.es = new EventSource("/api/v1/stream?kinds=point&samples=recorded");
  spark.es.addEventListener("point", e => {
    const s = JSON.parse(e.data);
    if (s.kind === "sample") sparkAdd(s.point, Date.parse(s.at), s.value);
  });
  const ids = points.filter(numeric).map(p => encodeURIComponent(p.id));
  if (!ids.length) return;
  getJSON(`/api/v1/readings?points=${ids.join(",")}`).then(r => {
    for (const [id, rows] of Object.entries(r.points)) {
      const history = rows.map(x => [Date.parse(x.at), x.value]);
      const last = history.length ? history[history.length - 1][0] : -Infinity;
      spark.series[id] = history.concat((spark.series[id] || []).filter(x => x[0] > last));
    }
    refresh();
  }).catch(() => {});
}

addEventListener("pagehide", () => sparkStop());

function sparkStop() {
  if (spark.es) spark.es.close();
  spark.es = null;
}

function sparkline(p, now) {
  if (!numeric(p)) return "";
  const pts = (spark.series[p.id] || []).filter(x => x[0] >= now - HOUR);
  const at = p.updated_at ? Math.min(Date.parse(p.updated_at), now) : null;
  // The current value is the line's tip, even when history has not kept it (deadband).
  if (p.value != null && at && (!pts.length || at > pts[pts.length - 1][0])) pts.push([at, p.value]);
  if (pts.length < 2) return "";
  const W = 120, H = 24, vs = pts.map(x => x[1]), lo = Math.min(...vs), hi = Math.max(...vs);
  // The hour, or less while history is younger (a new site, a restart): the line fills
  // the box either way instead of squeezing into its right edge.
  const from = pts[0][0], span = Math.max(now - from, 1);
  const y = v => hi === lo ? H / 2 : H - 2 - (v - lo) / (hi - lo) * (H - 4);
  const xy = pts.map(([t, v]) => `${((t - from) / span * W).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  return `<svg class="spark" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title>${esc(lo)} – ${esc(hi)}</title>`
    + `<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${xy}"/></svg>`;
}

function renderPlant(devices, points, now) {
  return devices.map(d => {
    const rows = points.filter(p => p.device === d.id).map(p => `
      <tr data-point="${esc(p.id)}" data-key="p:${esc(p.id)}" class="q-${esc(p.quality)}">
        <td title="${esc(p.id)} · ${esc(p.description)}">${esc(pointName(p))}</td>
        <td class="value">${fmt(p)}</td><td class="spark">${sparkline(p, now)}</td><td class="unit">${esc(p.unit)}</td>
        <td class="quality">${esc(t(p.quality))}</td>
        <td class="age">${p.age_seconds === null ? "—" : p.age_seconds.toFixed(1) + " " + t("s_ago")}</td>
      </tr>`).join("");
    return `<div class="card" data-device="${esc(d.id)}" data-key="d:${esc(d.id)}">
      <h2>${esc(d.name)} <span class="badge ${d.up ? "up" : "down"}">${t(d.up ? "up" : "down")}</span>
      <small title="${esc(d.profile)}">${esc(d.address)}${d.unit_id == null ? '' : ' #' + d.unit_id}</small></h2>
      <table><thead><tr><th>${t("point")}</th><th>${t("value")}</th><th class="spark">${t("trend")}</th><th>${t("unit")}</th><th class="quality">${t("quality")}</th><th>${t("age")}</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  }).join("");
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
  alarms: async () => renderAlarms(await loadAlarms()),
  incidents: async () => { const [i, b] = await Promise.all([getJSON("/api/v1/incidents"), getJSON("/api/v1/incidents/board")]); return renderIncidents(i, b); },
  service: async () => {
    const [r, f, n] = await Promise.all([
      getJSON("/api/v1/requests").catch(() => []), getJSON("/api/v1/followups/due").catch(() => []), getJSON("/api/v1/notices?current=true").catch(() => []),
    ]);
    return renderService(r, f, n) + renderKpis(await monthKpis());
  },
  handover: async () => renderHandovers(await getJSON("/api/v1/handovers").catch(() => [])),
  patrol: async () => {
    const [tours, due] = await Promise.all([getJSON("/api/v1/patrol/tours"), getJSON("/api/v1/inspections/due").catch(() => [])]);
    return renderPatrol(tours) + renderInspections(due);
  },
  plant: async () => {
    const [d, p] = await Promise.all([getJSON("/api/v1/devices"), getJSON("/api/v1/points")]);
    sparkFollow(p.points);
    return renderPlant(d, p.points, Date.parse(p.now));
  },
  incident: async () => {
    const [i, n] = await Promise.all([getJSON(`/api/v1/incidents/${incidentId}`), getJSON(`/api/v1/notices?incident=${incidentId}`).catch(() => [])]);
    return renderIncidentPage(i, n);
  },
};

// The status line on every tab: unacknowledged alarms by priority, breached and nearly
// breached clocks, overdue requests, the patrol, the link; and a badge on each tab where
// something waits for a person. The board, requests and tours are asked every 5 s.
let summary = { at: 0, board: [], requests: [], tours: [] };
async function loadSummary() {
  if (Date.now() - summary.at < 5000) return summary;
  const [board, requests, tours] = await Promise.all([
    getJSON("/api/v1/incidents/board").catch(() => summary.board),
    getJSON("/api/v1/requests").catch(() => summary.requests),
    getJSON("/api/v1/patrol/tours").catch(() => summary.tours),
  ]);
  summary = { at: Date.now(), board, requests, tours };
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
  const badges = { alarms: unack.length, incidents: red, service: late, patrol: missed };
  document.querySelectorAll("nav.tabs button").forEach(b => {
    const n = badges[b.dataset.tab] || 0;
    let el = b.querySelector(".count");
    if (!n) { if (el) el.remove(); return; }
    if (!el) { el = document.createElement("span"); el.className = "count"; b.append(el); }
    el.textContent = n;
  });
}

let busy = false;
async function refresh() {
  if (busy) return; busy = true;
  try {
    document.querySelectorAll("nav.tabs button").forEach(b => b.classList.toggle("active", b.dataset.tab === tab));
    document.querySelectorAll("section.panel").forEach(s => s.classList.toggle("active", s.id === tab));
    if (tab !== "plant") sparkStop();
    const alarmsHtml = await loaders.alarms();
    renderStatus(lastAlarms, await loadSummary());
    if (tab === "alarms") sw.patch("alarms", alarmsHtml + renderHistory(await getJSON("/api/v1/alarms/history?latest=20").catch(() => [])));
    else sw.patch(tab, await loaders[tab]());
    sw.fresh();
  } catch (e) {
    /* the banner says the server is out of reach; the page keeps what it showed */
  } finally { busy = false; }
}
document.querySelectorAll("nav.tabs button").forEach(b => b.onclick = () => {
  tab = b.dataset.tab; localStorage.setItem("tab", tab);
  if (incidentId) location.href = "/#" + tab; else { location.hash = tab; refresh(); }
});
// Alarms, incidents and scans refresh the page at once; a timer covers values and clocks.
sw.live(["alarm", "incident", "scan", "patrol", "device"], () => refresh());
refresh();
setInterval(refresh, 1000);
