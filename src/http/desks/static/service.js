// The customer-service desk (客服前台): a caller's unit card and intake, a request's
// life on its own page, notices (compose, preview, issue, deliveries), follow-ups due and
// the month's KPIs. Every action is an /api/v1 call; the server decides. Views by path:
// /service (home), /service/requests/{id}, /service/notices/new, /service/notices/{id},
// /service/units (the register's import).
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
const running = c => `<span class="s-${esc(c.status)}">${esc(tp("sla_", c.sla))} ${t(c.remaining_secs < 0 ? "overdue_by" : "left", { d: dur(c.remaining_secs) })}</span>`;

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
  const incRows = incidents.map(i => `<tr data-key="i${i.id}"><td><a href="/incidents/${i.id}">#${i.id}</a></td><td>${esc(i.title)}</td>
    <td>${esc(tp("st_", i.state))}</td><td><a class="btn" href="/service/notices/new?incident=${i.id}">${t("cs_compose")}</a></td></tr>`);
  const fuRows = followed.map(r => `<tr data-key="fu${r.id}"><td><a href="/service/requests/${r.id}">#${r.id}</a></td><td>${time(r.follow_up.at)}</td>
    <td>${t(r.follow_up.satisfied ? "cs_satisfied" : "cs_unsatisfied")}${r.rating ? ` · ${"★".repeat(r.rating)}` : ""}</td><td>${esc(r.follow_up.outcome)}</td></tr>`);
  return `<div class="card" data-unit-card="${esc(unit.id)}">
    <h2>${t("cs_card")} ${esc(unit.id)} <span class="badge">${esc(tp("oc_", unit.occupancy))}</span>
      <a class="btn" href="/service/notices/new?unit=${encodeURIComponent(unit.id)}">${t("cs_compose")}</a></h2>
    <h3>${t("cs_contacts")}</h3>${table(["", t("cs_name"), t("cs_phone"), t("cs_preferred")], contactRows(unit))}
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
  const affecting = incidents.filter(i => i.households.some(h => h.unit === cardUnit));
  const mine = notices.filter(n => n.deliveries.some(d => d.unit === cardUnit));
  sw.patch("card", renderCard(unit, requests, affecting, mine));
  const others = incidents.filter(i => !affecting.includes(i));
  sw.patch("in-incident", `<option value="">${t("cs_no_incident")}</option>`
    + affecting.concat(others).map(i => `<option value="${i.id}">#${i.id} ${esc(i.title)}</option>`).join(""));
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
    out.innerHTML = `<p class="s-red">${esc(t("refused", { why: answer.message || r.status }))}</p>`;
  }
}

// ---- a request's page: its life, each step or the reason it is not offered -----------

/// What a close still needs (core ServiceRequest::missing_for_close).
function missingForClose(r) {
  const k = r.kind.type, miss = [];
  if (k === "repair") {
    if (!r.completion) miss.push("completion_report");
    if (!r.follow_up) miss.push("follow_up");
    if (r.rating == null) miss.push("rating");
  } else if (k === "complaint" && !r.follow_up) miss.push("follow_up");
  else if (k === "suggestion" && !r.reply) miss.push("reply");
  return miss;
}

// Each step, the states it is taken in (core service_flow.rs), and its form.
const STEPS = [
  { type: "acknowledge", states: ["received"] },
  { type: "dispatch", states: ["received", "acknowledged"], form: "technician" },
  { type: "arrive_on_site", states: ["in_progress"] },
  { type: "reply", states: ["received", "acknowledged", "in_progress"], form: "text", kinds: ["complaint", "suggestion"] },
  { type: "complete", states: ["acknowledged", "in_progress"], form: "report" },
  { type: "follow_up", states: ["completed"], form: "follow_up" },
  { type: "rate", states: ["completed", "followed_up"], form: "score" },
  { type: "explain_delay", states: OPEN_STATES, form: "reason" },
  { type: "decline", states: ["received", "acknowledged"], form: "reason" },
  { type: "close", states: ["followed_up"] },
];

/// Why `step` is not offered for `r`, or "" when it is.
function whyNot(step, r) {
  if (!mayAct) return t("why_role");
  let states = step.states;
  if (step.type === "close" && r.kind.type === "suggestion") states = ["received", "acknowledged", "in_progress", "completed"];
  if (step.type === "close") {
    const miss = missingForClose(r);
    if (miss.length && OPEN_STATES.includes(r.state)) return t("why_missing", { missing: miss.map(m => t("miss_" + m)).join("、") });
  }
  if (!states.includes(r.state)) return t("why_state", { state: tp("rs_", r.state) });
  if (step.type === "explain_delay" && !r.chasers.some(c => !c.reason_for_delay)) return t("why_no_chaser");
  return "";
}

let staff = null;
function stepForm(step) {
  const f = step.form, id = `st-${step.type}`;
  const field = {
    technician: () => staff && staff.length
      ? `<select id="${id}-who" required><option value="">${t("cs_staff_pick")}</option>${staff.map(s => `<option value="${esc(s.name)}">${esc(s.display_name || s.name)}</option>`).join("")}</select>`
      : `<input id="${id}-who" required placeholder="${t("cs_technician")}" autocomplete="off">`,
    report: () => `<textarea id="${id}-text" placeholder="${t("cs_report")}"></textarea>`,
    text: () => `<textarea id="${id}-text" required placeholder="${t("cs_reply")}"></textarea>`,
    reason: () => `<textarea id="${id}-text" required placeholder="${t(step.type === "decline" ? "cs_decline_reason" : "cs_delay_reason")}"></textarea>`,
    follow_up: () => `<select id="${id}-method"><option value="phone">${t("fm_phone")}</option><option value="visit">${t("fm_visit")}</option></select>
      <select id="${id}-satisfied"><option value="true">${t("cs_satisfied")}</option><option value="false">${t("cs_unsatisfied")}</option></select>
      <textarea id="${id}-text" required placeholder="${t("cs_outcome")}"></textarea>`,
    score: () => `<select id="${id}-score">${[5, 4, 3, 2, 1].map(n => `<option value="${n}">${"★".repeat(n)} ${n}</option>`).join("")}</select>`,
  }[f];
  return `<form data-step="${step.type}">${field ? field() : ""}<button type="submit" class="primary" id="${id}">${t("rq_" + step.type)}</button></form>`;
}

function stepCard(step, r) {
  const why = whyNot(step, r);
  const body = why ? `<button type="button" disabled>${t("rq_" + step.type)}</button><div class="why" data-why="${step.type}">${esc(why)}</div>` : stepForm(step);
  return `<div class="step${why ? " blocked" : ""}" data-key="s-${step.type}-${why ? "no" : "yes"}"><h3>${t("rq_" + step.type)}</h3>${body}</div>`;
}

/// Link the request to an open incident, or open a fault order (故障工单) from it; once.
function linkCard(r) {
  const why = !["", "customer_service", "duty_engineer", "admin"].includes(role) ? t("why_role")
    : r.incident ? t("why_linked", { id: r.incident }) : "";
  const title = t("rq_link_incident");
  if (why) return `<div class="step blocked" data-key="s-link-no"><h3>${title}</h3><button type="button" disabled>${title}</button><div class="why" data-why="link">${esc(why)}</div></div>`;
  const options = openIncidents.map(i => `<option value="${i.id}">#${i.id} ${esc(i.title)}</option>`).join("");
  return `<div class="step" data-key="s-link-yes"><h3>${title}</h3><form data-link="1">
    <select id="st-link-incident"><option value="">${t("rq_open_fault")}</option>${options}</select>
    <button type="submit" class="primary" id="st-link">${title}</button></form></div>`;
}

async function linkIncident(r) {
  const actor = sw.actor();
  if (!actor) return;
  const chosen = byId("st-link-incident").value;
  const body = chosen ? { actor, incident: Number(chosen) } : { actor, open: { category: "fault", title: `#${r.id} ${r.summary}` } };
  await sw.post(`/api/v1/requests/${recordId}/incident`, body);
  refresh();
}

function actionOf(type) {
  const v = s => (byId(`st-${type}-${s}`) || {}).value || "";
  switch (type) {
    case "dispatch": return { type, technician: v("who").trim() };
    case "complete": return { type, report: v("text").trim() };
    case "reply": return { type, text: v("text").trim() };
    case "follow_up": return { type, method: v("method"), outcome: v("text").trim(), satisfied: v("satisfied") === "true" };
    case "rate": return { type, score: Number(v("score")) };
    case "decline": case "explain_delay": return { type, reason: v("text").trim() };
    default: return { type };
  }
}

function timelineText(e) {
  const k = e.kind || {}, type = k.type || "";
  let detail = "";
  if (type === "received") detail = `${requestKind(k.kind)} · ${tp("ch_", k.channel)}`;
  else if (type === "state_changed") detail = `${tp("rs_", k.from)} → ${tp("rs_", k.to)}`;
  else if (type === "milestone") detail = tp("ms_", k.step);
  else if (k.sla) detail = tp("sla_", k.sla) + (k.due_at ? ` · ${t("deadline")} ${time(k.due_at)}` : "") + (k.late ? ` · ${t("overdue")}` : "");
  else if (k.overdue) detail = tp("sla_", k.overdue);
  else if (k.reason) detail = k.reason;
  return esc(tp("rev_", type)) + (detail ? " · " + esc(detail) : "");
}

function clockRows(r) {
  return r.clocks.map(c => {
    const run = OPEN_STATES.includes(r.state) && (r.running || []).find(x => x.sla === c.sla);
    const status = run ? running(run)
      : c.met_at || c.breached ? `<span class="${c.breached ? "s-red" : "s-met"}">${t(c.breached ? "overdue" : "met")} ${time(c.met_at)}</span>`
      : "—";
    return `<tr data-key="k${esc(c.sla)}" data-sla="${esc(c.sla)}" class="${run && run.remaining_secs < 0 ? "overdue" : ""}"><td>${esc(tp("sla_", c.sla))}</td><td>${time(c.due_at)}</td><td class="clock">${status}</td></tr>`;
  });
}

function records(r) {
  const rows = [];
  if (r.technician) rows.push([t("cs_technician"), esc(r.technician)]);
  if (r.completion) rows.push([t("cs_report"), `${esc(r.completion.report)} <small>${time(r.completion.at)}</small>`]);
  if (r.reply) rows.push([t("cs_reply"), esc(r.reply)]);
  if (r.follow_up) rows.push([t("cs_followup_record"), `${esc(tp("fm_", r.follow_up.method))} · ${t(r.follow_up.satisfied ? "cs_satisfied" : "cs_unsatisfied")} · ${esc(r.follow_up.outcome)} <small>${esc(r.follow_up.by)} ${time(r.follow_up.at)}</small>`]);
  if (r.rating != null) rows.push([t("cs_rating"), `<span data-rating="${r.rating}">${"★".repeat(r.rating)} ${r.rating}</span>`]);
  if (r.decline_reason) rows.push([t("cs_decline_reason"), esc(r.decline_reason)]);
  return rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`);
}

function renderRequest(r) {
  const chasers = r.chasers.map((c, n) => `<tr data-key="ch${n}" class="${c.reason_for_delay ? "" : "overdue"}"><td>${time(c.issued_at)}</td><td>${esc(tp("sla_", c.overdue))}</td>
    <td>${c.reason_for_delay ? esc(c.reason_for_delay) : `<span class="s-red">${t("cs_chaser_open")}</span>`}</td></tr>`);
  const timeline = r.timeline.map((e, n) => `<tr data-key="e${n}" data-event="${n}"><td>${time(e.at)}</td><td>${esc(e.actor)}</td><td>${timelineText(e)}</td></tr>`);
  return `<div class="card" data-request-page="${r.id}"><a href="/service">${t("cs_back")}</a>
      <h2>#${r.id} ${esc(requestKind(r.kind))} ${stateBadge(r.state)} ${r.overdue ? `<span class="badge p-emergency">${t("overdue")}</span>` : ""}</h2>
      <div>${esc(r.summary)}</div>
      <small><a href="/service?unit=${encodeURIComponent(r.unit)}">${esc(r.unit)}</a> · ${esc(r.owner || "")} · ${esc(tp("ch_", r.channel))} · ${t("cs_received")} ${time(r.received_at)}
        ${r.incident ? ` · <a href="/incidents/${r.incident}">${t("cs_incident_link")} #${r.incident}</a>` : ""}</small>
      <table class="clocks"><tbody>${clockRows(r).join("")}</tbody></table>
      <table class="records"><tbody>${records(r).join("")}</tbody></table></div>
    <div class="card"><h2>${t("cs_steps")}</h2><div class="steps">${STEPS.filter(s => !s.kinds || s.kinds.includes(r.kind.type)).map(s => stepCard(s, r)).join("")}${linkCard(r)}</div></div>
    <div class="card"><h2>${t("cs_chasers")}</h2>${table([t("when"), t("clocks"), t("cs_reason")], chasers)}</div>
    <div class="card"><h2>${t("timeline")}</h2><div id="rq-timeline">${table([t("when"), t("actor_col"), t("message")], timeline)}</div></div>`;
}

let shownRequest = null;
async function refreshRequest() {
  if (staff === null) staff = await sw.get("/api/v1/staff").catch(() => []);
  const [r, incidents] = await Promise.all([sw.get(`/api/v1/requests/${recordId}`), sw.get("/api/v1/incidents")]);
  openIncidents = incidents;
  shownRequest = r;
  sw.patch("view-request", renderRequest(r));
}

async function requestStep(e) {
  if (e.target.closest("form[data-link]")) {
    e.preventDefault();
    return linkIncident(shownRequest);
  }
  const form = e.target.closest("form[data-step]");
  if (!form) return;
  e.preventDefault();
  const actor = sw.actor();
  if (!actor) return;
  const done = await sw.post(`/api/v1/requests/${recordId}/commands`, { actor, note: "", action: actionOf(form.dataset.step) });
  if (done) form.querySelectorAll("textarea, input").forEach(x => { x.value = ""; });
  refresh();
}

// ---- a notice's page: each unit's delivery, hand delivery and confirmation -----------

function unitDelivery(n, d) {
  const msgs = (n.recipients || []).filter(m => m.unit === d.unit).map(m =>
    `<span class="badge ${m.status === "failed" ? "p-emergency" : ""}">${esc(tp("mst_", m.status))}</span>${m.reason ? ` <small>${esc(m.reason)}</small>` : ""}`).join(" ");
  const state = d.confirmed_at ? `<span class="s-green">${t("confirmed")}</span> ${time(d.confirmed_at)}`
    : d.delivered_at ? `<span class="s-green">${t("delivered")}</span> ${esc(tp("dc_", d.channel))} ${time(d.delivered_at)}`
    : `<span class="s-amber">${t("nt_waiting")}</span>`;
  const buttons = (d.delivered_at ? "" : `<button type="button" data-deliver="${esc(d.unit)}" data-confirm="false">${t("nt_mark_hand")}</button> `)
    + (d.confirmed_at ? "" : `<button type="button" data-deliver="${esc(d.unit)}" data-confirm="true">${t("nt_mark_confirmed")}</button>`);
  return `<tr data-key="d${esc(d.unit)}" data-unit="${esc(d.unit)}"><td>${esc(d.unit)}</td><td class="delivery">${state}</td><td>${msgs}</td><td>${mayAct ? buttons : ""}</td></tr>`;
}

function targetText(target) {
  if (target.type === "incident") return `${t("tg_incident")} <a href="/incidents/${target.incident}">#${target.incident}</a>`;
  if (target.type === "building") return `${t("tg_building")} ${esc(target.building)}`;
  if (target.type === "units") return `${t("tg_units")} ${esc(target.units.join("、"))}`;
  return t("tg_all");
}

function renderNotice(n) {
  const span = n.starts_at ? `${t("nt_starts")} ${time(n.starts_at)}${n.ends_at ? ` · ${t("nt_ends")} ${time(n.ends_at)}` : ""} · ` : "";
  return `<div class="card" data-notice-page="${n.id}"><a href="/service">${t("cs_back")}</a>
      <h2><span class="badge lv-${esc(n.color)}">${esc(tp("lv_", n.level))}</span> ${esc(n.title)}</h2>
      <div class="preview">${esc(n.body)}</div>
      <small>${span}${t("nt_expires")} ${time(n.expires_at)} · ${t("nt_target")}: ${targetText(n.target)} · ${esc(n.created_by)} ${time(n.created_at)}</small></div>
    <div class="card"><h2>${t("nt_deliveries")} <small>${t("nt_units_count", { n: n.deliveries.length })}</small></h2>
      <div id="deliveries">${table([t("unit_col"), t("state"), t("nt_messages"), ""], n.deliveries.map(d => unitDelivery(n, d)))}</div></div>`;
}

async function refreshNotice() {
  sw.patch("view-notice", renderNotice(await sw.get(`/api/v1/notices/${recordId}`)));
}

async function deliver(button) {
  const actor = sw.actor();
  if (!actor) return;
  const record = { unit: button.dataset.deliver, channel: "paper", confirmed: button.dataset.confirm === "true" };
  await sw.post(`/api/v1/notices/${recordId}/deliveries`, { by: actor, records: [record] });
  refreshNotice();
}

// ---- compose a notice: template, units, level, window, preview, issue ----------------

async function noticeTarget() {
  const kind = (document.querySelector('input[name="target"]:checked') || {}).value;
  const v = id => byId(id).value.trim();
  if (kind === "incident") return { type: "incident", incident: Number(v("nt-incident")) };
  if (kind === "building") return { type: "building", building: v("nt-building") };
  if (kind === "units") return { type: "units", units: v("nt-units").split(/[,，、\s]+/).filter(Boolean) };
  if (kind === "floor") {
    const units = await sw.get(`/api/v1/units?building=${encodeURIComponent(v("nt-building"))}`).catch(() => []);
    const floor = v("nt-floor");
    return { type: "units", units: units.filter(u => u.floor === floor || u.floor.endsWith("/" + floor)).map(u => u.id) };
  }
  return { type: "all" };
}

async function noticeBody() {
  const v = id => byId(id).value.trim();
  return {
    level: v("nt-level"), template: v("nt-template"), title: v("nt-title") || null, body: v("nt-body") || null,
    starts_at: sw.fromLocal(v("nt-starts")), ends_at: sw.fromLocal(v("nt-ends")), expires_at: sw.fromLocal(v("nt-expires")),
    target: await noticeTarget(), created_by: sw.actor(),
  };
}

async function preview() {
  const p = await sw.post("/api/v1/notices/preview", await noticeBody());
  const box = byId("preview");
  box.hidden = !p;
  if (p) box.innerHTML = `<span class="swatch lv-${esc(p.color)}"></span> <strong>${esc(p.title)}</strong>\n${esc(p.body)}\n<small>${t("nt_units_count", { n: p.units.length })}: ${esc(p.units.slice(0, 30).join("、"))}${p.units.length > 30 ? "…" : ""}</small>`;
}

async function issue(e) {
  e.preventDefault();
  const n = await sw.post("/api/v1/notices", await noticeBody());
  if (n) location.href = `/service/notices/${n.id}`;
}

async function setUpCompose() {
  const incidents = await sw.get("/api/v1/incidents").catch(() => []);
  byId("nt-incident").innerHTML = incidents.map(i => `<option value="${i.id}">#${i.id} ${esc(i.title)}</option>`).join("");
  byId("nt-expires").value = sw.toLocal(Date.now() + 3 * 86400e3);
  const pick = kind => { document.querySelector(`input[name="target"][value="${kind}"]`).checked = true; };
  if (params.get("incident")) { byId("nt-incident").value = params.get("incident"); pick("incident"); }
  else if (params.get("unit")) { byId("nt-units").value = params.get("unit"); pick("units"); }
  else pick("building");
  const swatch = () => { byId("nt-swatch").className = `swatch lv-${{ notice: "green", important: "yellow", urgent: "red" }[byId("nt-level").value]}`; };
  byId("nt-level").onchange = swatch;
  byId("nt-preview").onclick = preview;
  byId("compose").onsubmit = issue;
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

byId(`view-${view}`).hidden = false;
byId("lookup").onsubmit = e => { e.preventDefault(); lookup(byId("q").value); };
byId("found").onclick = e => { const b = e.target.closest("button[data-unit]"); if (b) openCard(b.dataset.unit); };
byId("intake").onsubmit = intake;
byId("occupancy").onsubmit = occupancy;
byId("import").onsubmit = importUnits;
byId("view-request").addEventListener("submit", requestStep);
byId("view-notice").addEventListener("click", e => { const b = e.target.closest("button[data-deliver]"); if (b) deliver(b); });
if (view === "compose") setUpCompose();
if (cardUnit) openCard(cardUnit);
sw.live(["incident"], () => refresh());
refresh();
setInterval(refresh, 2000);
