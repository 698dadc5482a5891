// The customer-service desk (客服前台): a caller's unit card and intake, a request's
// life on its own page, notices (compose, preview, issue, deliveries), follow-ups due and
// the month's KPIs. Every action is an /api/v1 call; the server decides. Views by path:
// /service (home), /service/requests/{id}, /service/notices/new, /service/notices/{id},
// /service/units (the register's import). This file: what the views share, the side
// column, the unit card and intake, the register; service_request.js and
// service_notices.js hold the request and notice views.
"use strict";
const { t, tp, esc, time, dur } = sw;
const path = location.pathname;
const params = new URLSearchParams(location.search);
const view = path === "/service/units" ? "units"
  : /^\/service\/requests\/\d+$/.test(path) ? "request"
  : path === "/service/notices/new" ? "compose"
  : /^\/service\/notices\/\d+$/.test(path) ? "notice" : "home";
const recordId = (path.match(/(\d+)$/) || [])[1];
const role = sw.meta("role");
// Request steps are customer service's (policy.rs); admin and open mode may take them too.
const mayAct = ["", "customer_service", "admin"].includes(role);
const OPEN_STATES = ["received", "acknowledged", "in_progress", "completed", "followed_up"];
const byId = id => document.getElementById(id);

const requestKind = k => t(k.type === "repair" ? (k.emergency ? "rk_emergency_repair" : "rk_repair")
  : k.type === "complaint" ? (k.important ? "rk_important_complaint" : "rk_complaint") : "rk_suggestion");
const stateBadge = s => `<span class="badge state">${esc(tp("rs_", s))}</span>`;
const pct = x => x == null ? "—" : (x * 100).toFixed(1) + "%";
const table = (head, rows, empty) => rows.length
  ? `<table><thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`
  : `<div class="empty">${empty || t("none")}</div>`;
/// A running clock in words: "剩余 3 小时 12 分" / "超时 2 天 1 小时", coloured.
// A desk-hours clock paused while the desk is closed says when it counts again (§14).
const running = c => c.resumes_at
  ? `<span class="s-paused" data-resumes="${esc(c.resumes_at)}">${esc(tp("sla_", c.sla))} ${t("clock_paused", { time: time(c.resumes_at) })}</span>`
  : `<span class="s-${esc(c.status)}">${esc(tp("sla_", c.sla))} ${t(c.remaining_secs < 0 ? "overdue_by" : "left", { d: dur(c.remaining_secs) })}</span>`;

// ---- the side lists: work in hand, follow-ups due, current notices, KPIs -------------

function renderWork(requests) {
  const open = requests.filter(r => OPEN_STATES.includes(r.state));
  const soonest = r => Math.min(...(r.running || []).map(c => c.remaining_secs), Infinity);
  open.sort((a, b) => (b.overdue - a.overdue) || (soonest(a) - soonest(b)) || (a.id - b.id));
  const rows = open.slice(0, 30).map(r => {
    const clock = (r.running || []).slice().sort((a, b) => a.remaining_secs - b.remaining_secs)[0];
    const owed = r.chasers.filter(c => !c.reason_for_delay).length;
    return `<tr data-key="w${r.id}" data-request="${r.id}" class="${r.overdue ? "overdue" : ""}">
      <td><a href="/service/requests/${r.id}">#${r.id}</a> ${esc(requestKind(r.kind))}<br><small>${esc(r.unit)}</small></td>
      <td>${stateBadge(r.state)}${owed ? ` <span class="badge p-emergency">${t("cs_chasers")} ${owed}</span>` : ""}</td>
      <td>${clock ? running(clock) : ""}</td></tr>`;
  });
  return table([t("cs_request"), t("state"), t("clocks")], rows, t("cs_no_requests"));
}

/// Today's calls (site date) and overdue ones, each a link to its record.
function renderDue(due) {
  const today = sw.toLocal(Date.now()).slice(0, 10);
  const rows = due.filter(f => f.overdue || sw.toLocal(Date.parse(f.due_at)).slice(0, 10) <= today).map(f => {
    const [kind, id] = f.reference.split(":");
    const href = kind === "request" ? `/service/requests/${id}` : `/incidents/${id}`;
    return `<tr data-key="f${esc(f.reference)}" class="${f.overdue ? "overdue" : ""}">
      <td><a class="btn" href="${href}">${t("cs_go_record")} #${esc(id)}</a></td>
      <td>${esc(f.location)}<br><small>${esc(f.summary)}</small></td>
      <td class="${f.overdue ? "s-red" : "s-amber"}">${f.overdue ? t("overdue") + "<br>" : ""}${time(f.due_at)}</td></tr>`;
  });
  return table(["", t("unit_col"), t("deadline")], rows, t("cs_nothing_due"));
}

function noticeRow(n) {
  const done = n.deliveries.filter(d => d.delivered_at).length;
  return `<tr data-key="n${n.id}" data-notice="${n.id}"><td><span class="badge lv-${esc(n.color)}">${esc(tp("lv_", n.level))}</span></td>
    <td><a href="/service/notices/${n.id}">${esc(n.title)}</a></td>
    <td>${done}/${n.deliveries.length} ${t("delivered")}</td></tr>`;
}

function renderKpis(report) {
  const rows = (report.kpis || []).map(k => `<tr data-kpi="${esc(k.name)}"><td>${esc(t(k.name))}</td>
    <td class="${k.met === false ? "s-red" : k.met ? "s-green" : ""}">${pct(k.ratio)} <small>(${k.count}/${k.of})</small></td><td>${pct(k.target)}</td></tr>`);
  return table([t("kpi"), t("cs_month"), t("target")], rows);
}

let kpiCache = { at: 0, report: { kpis: [] } };
async function refreshSide() {
  const [requests, due, notices] = await Promise.all([
    sw.get("/api/v1/requests"), sw.get("/api/v1/followups/due").catch(() => []), sw.get("/api/v1/notices?current=true"),
  ]);
  sw.patch("work", renderWork(requests));
  sw.patch("due", renderDue(due));
  sw.patch("notices", table([t("kind"), t("title"), ""], notices.map(noticeRow)));
  if (Date.now() - kpiCache.at > 60000) {
    const report = await sw.get("/api/v1/kpis").catch(() => null);
    if (report) kpiCache = { at: Date.now(), report };
  }
  sw.patch("kpis", renderKpis(kpiCache.report));
}

// ---- home: caller look-up, the unit card, intake -------------------------------------

let cardUnit = params.get("unit");

async function lookup(q) {
  q = q.trim();
  if (!q) return;
  const found = new Map();
  const unit = await sw.get(`/api/v1/units/${encodeURIComponent(q)}`).catch(() => null);
  if (unit) found.set(unit.id, unit.contacts.map(c => c.name).filter(Boolean));
  const owners = await sw.get(`/api/v1/owners?q=${encodeURIComponent(q)}&limit=20`).catch(() => []);
  for (const o of owners) found.set(o.unit, (found.get(o.unit) || []).concat(o.name ? [o.name] : []));
  const items = [...found].map(([u, names]) => `<li data-key="u${esc(u)}"><button type="button" class="pick" data-unit="${esc(u)}">${esc(u)}</button> ${esc([...new Set(names)].join("、"))}</li>`);
  byId("found").innerHTML = items.join("") || `<li class="empty">${t("cs_no_match")}</li>`;
  if (found.size === 1) openCard([...found.keys()][0]);
}

function openCard(unit) {
  cardUnit = unit;
  history.replaceState(null, "", `/service?unit=${encodeURIComponent(unit)}`);
  byId("intake-unit").textContent = unit;
  byId("intake-card").hidden = false;
  byId("occ-card").hidden = !mayAct;
  refreshCard();
}

const shown = v => v || `<span class="s-met">${t("not_shown")}</span>`;

function contactRows(unit) {
  return unit.contacts.map(c => `<tr data-key="c${esc(c.role)}"><td>${esc(tp("role_", c.role))}</td><td class="name">${shown(esc(c.name))}</td>
    <td>${c.name ? esc(c.phone || "—") : shown("")}</td><td>${esc(tp("cc_", c.preferred_channel))}</td></tr>`);
}

function renderCard(unit, requests, incidents, notices) {
  const open = requests.filter(r => OPEN_STATES.includes(r.state));
  const followed = requests.filter(r => r.follow_up).sort((a, b) => Date.parse(b.follow_up.at) - Date.parse(a.follow_up.at)).slice(0, 3);
  const reqRows = open.map(r => `<tr data-key="r${r.id}" class="${r.overdue ? "overdue" : ""}"><td><a href="/service/requests/${r.id}">#${r.id}</a> ${esc(requestKind(r.kind))}</td>
    <td>${esc(r.summary)}</td><td>${stateBadge(r.state)}</td></tr>`);
  const incRows = incidents.map(i => `<tr data-key="i${i.id}"><td><a href="/incidents/${i.id}">#${i.id}</a></td><td>${esc(sw.incidentTitle(i))}</td>
    <td>${esc(tp("st_", i.state))}</td><td><a class="btn" href="/service/notices/new?incident=${i.id}">${t("cs_compose")}</a></td></tr>`);
  const fuRows = followed.map(r => `<tr data-key="fu${r.id}"><td><a href="/service/requests/${r.id}">#${r.id}</a></td><td>${time(r.follow_up.at)}</td>
    <td>${t(r.follow_up.satisfied ? "cs_satisfied" : "cs_unsatisfied")}${r.rating ? ` · ${"★".repeat(r.rating)}` : ""}</td><td>${esc(r.follow_up.outcome)}</td></tr>`);
  return `<div class="card" data-unit-card="${esc(unit.id)}">
    <h2>${t("cs_card")} ${esc(unit.id)} <span class="badge">${esc(tp("oc_", unit.occupancy))}</span>
      <a class="btn" href="/service/notices/new?unit=${encodeURIComponent(unit.id)}">${t("cs_compose")}</a></h2>
    <h3>${t("cs_contacts")}</h3>${table(["", t("cs_name"), t("cs_phone"), t("cs_preferred")], contactRows(unit))}
    <form class="step" id="cs-person-form"><span>${t("cp_person")}: <b id="cs-person">${unit.cs_person ? esc(unit.cs_person) : t("none")}</b></span>
      ${mayAct ? `<input id="cs-person-name" placeholder="${t("cp_name")}" aria-label="${t("cp_name")}" autocomplete="off"><button type="submit" id="cs-person-set">${t("cp_set")}</button>` : ""}</form>
    <div class="card-grid">
      <div><h3>${t("cs_open_requests")}</h3>${table([t("cs_request"), t("cs_summary"), t("state")], reqRows)}</div>
      <div><h3>${t("cs_unit_incidents")}</h3>${table(["#", t("title"), t("state"), ""], incRows)}</div>
      <div><h3>${t("cs_unit_notices")}</h3>${table([t("kind"), t("title"), ""], notices.map(noticeRow))}</div>
      <div><h3>${t("cs_last_followups")}</h3>${table(["#", t("when"), t("cs_rating"), t("cs_outcome")], fuRows)}</div>
    </div></div>`;
}

let openIncidents = [];
async function refreshCard() {
  if (!cardUnit) return;
  const u = encodeURIComponent(cardUnit);
  const [unit, requests, incidents, notices] = await Promise.all([
    sw.get(`/api/v1/units/${u}`), sw.get(`/api/v1/requests?unit=${u}`), sw.get("/api/v1/incidents"), sw.get("/api/v1/notices?current=true"),
  ]);
  openIncidents = incidents;
  await sw.learnTitles(incidents);
  const affecting = incidents.filter(i => i.households.some(h => h.unit === cardUnit));
  const mine = notices.filter(n => n.deliveries.some(d => d.unit === cardUnit));
  sw.patch("card", renderCard(unit, requests, affecting, mine));
  const others = incidents.filter(i => !affecting.includes(i));
  sw.patch("in-incident", `<option value="">${t("cs_no_incident")}</option>`
    + affecting.concat(others).map(i => `<option value="${i.id}">#${i.id} ${esc(sw.incidentTitle(i))}</option>`).join(""));
  const owner = unit.contacts.find(c => c.role === "owner");
  if (owner && owner.name && !byId("in-owner").value) byId("in-owner").value = owner.name;
}

const KINDS = {
  repair: { type: "repair", emergency: false }, emergency_repair: { type: "repair", emergency: true },
  complaint: { type: "complaint", important: false }, important_complaint: { type: "complaint", important: true },
  suggestion: { type: "suggestion" },
};

async function intake(e) {
  e.preventDefault();
  const actor = sw.actor();
  if (!actor || !cardUnit) return;
  const incident = byId("in-incident").value;
  const body = {
    kind: KINDS[byId("in-kind").value], channel: byId("in-channel").value, unit: cardUnit,
    owner: byId("in-owner").value.trim() || null, summary: byId("in-summary").value.trim(),
    received_by: actor, incident: incident ? Number(incident) : null,
  };
  const r = await sw.post("/api/v1/requests", body);
  if (r) location.href = `/service/requests/${r.id}`;
}

/// Names the unit's own customer-service person (贴心管家, seed 003:751).
async function csPerson(e) {
  if (e.target.id !== "cs-person-form") return;
  e.preventDefault();
  const actor = sw.actor(), name = byId("cs-person-name").value.trim();
  if (!actor || !cardUnit || !name) return;
  if (await sw.send("PUT", `/api/v1/units/${encodeURIComponent(cardUnit)}/cs-person`, { cs_person: name, actor })) {
    byId("cs-person-name").value = "";
    refresh();
  }
}

/// Move-in or move-out with the meters' base readings.
async function occupancy(e) {
  e.preventDefault();
  const actor = sw.actor();
  if (!actor || !cardUnit) return;
  const num = id => byId(id).value === "" ? null : Number(byId(id).value);
  const body = { occupancy: byId("occ-state").value, actor, meters: { water: num("occ-water"), power: num("occ-power") } };
  if (await sw.send("PUT", `/api/v1/units/${encodeURIComponent(cardUnit)}/occupancy`, body)) {
    byId("occ-water").value = ""; byId("occ-power").value = "";
    refresh();
  }
}

// ---- the register: import a CSV, every bad line shown -----------------------------------

async function importUnits(e) {
  e.preventDefault();
  const file = byId("im-file").files[0];
  if (!file) return;
  const actor = encodeURIComponent(sw.actor() || "");
  const r = await fetch(`/api/v1/units/import?actor=${actor}`, {
    method: "POST", headers: { "content-type": "text/csv", "x-csrf-token": sw.meta("csrf-token") }, body: await file.arrayBuffer(),
  });
  const answer = await r.json().catch(() => ({}));
  const out = byId("im-result");
  if (r.ok) {
    out.innerHTML = `<p class="s-green">${esc(t("im_done", { created: answer.created, updated: answer.updated, changed: answer.occupancy_changed }))}</p>`;
  } else if (answer.problems) {
    // The one reason a clerk meets most (a spreadsheet saved as GBK) in the page's language;
    // the others are the server's own words.
    const reason = p => /not UTF-8/.test(p.reason) ? t("im_not_utf8") : p.reason;
    const rows = answer.problems.map(p => `<tr data-line="${p.line}"><td>${p.line}</td><td>${esc(reason(p))}</td></tr>`);
    out.innerHTML = `<p class="s-red">${esc(t("im_bad", { n: answer.problems.length }))}</p>${table([t("im_line"), t("cs_reason")], rows)}`;
  } else {
    out.innerHTML = `<p class="s-red">${esc(t("refused", { why: sw.refusal(answer, r.status) }))}</p>`;
  }
}

// ---- wiring ---------------------------------------------------------------------------

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const idle = async () => {};
    const main = { home: refreshCard, request: refreshRequest, notice: refreshNotice, compose: idle, units: idle }[view];
    await Promise.all([refreshSide(), main()]);
    sw.fresh();
  } catch (e) { /* the banner says the server is out of reach; the page keeps what it showed */ }
  finally { busy = false; }
}

// Runs once all the desk's scripts (service_request.js, service_notices.js) are in.
document.addEventListener("DOMContentLoaded", () => {
  byId(`view-${view}`).hidden = false;
  byId("lookup").onsubmit = e => { e.preventDefault(); lookup(byId("q").value); };
  byId("found").onclick = e => { const b = e.target.closest("button[data-unit]"); if (b) openCard(b.dataset.unit); };
  byId("intake").onsubmit = intake;
  byId("occupancy").onsubmit = occupancy;
  byId("card").addEventListener("submit", csPerson);
  byId("import").onsubmit = importUnits;
  byId("view-request").addEventListener("submit", requestStep);
  // The request page's photo: the page's button opens the camera or the file picker.
  byId("view-request").addEventListener("click", e => { if (e.target.id === "rq-photo-take") byId("rq-photo-file").click(); });
  byId("view-request").addEventListener("change", e => {
    if (e.target.id === "rq-photo-file") byId("rq-photo-name").textContent = e.target.files[0]?.name || "";
  });
  byId("view-notice").addEventListener("click", e => { const b = e.target.closest("button[data-deliver]"); if (b) deliver(b); });
  if (view === "compose") setUpCompose();
  if (cardUnit) openCard(cardUnit);
  sw.live(["incident"], () => refresh());
  refresh();
  setInterval(refresh, 2000);
});
