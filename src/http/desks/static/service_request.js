// The service desk's request page (/service/requests/{id}): the request's life, each
// step as a form or greyed with the reason it is not offered; the server decides.
// Loaded after service.js, whose helpers it uses.
"use strict";

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
  // Work passed to another department (seed 001:741) and the unit's own person (003:751).
  { type: "pass_on", states: ["received", "acknowledged", "in_progress"], form: "pass_on" },
  { type: "work_order_result", states: OPEN_STATES, form: "result", order: true },
  { type: "warn_owner_of_delay", states: OPEN_STATES, form: "reason", order: true },
  { type: "assign", states: OPEN_STATES, form: "assignee" },
];

/// The request's work order still waiting for its department's result.
const openOrder = r => (r.work_orders || []).find(w => !w.result);

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
  const order = openOrder(r);
  if (step.order && !order) return t("why_no_order");
  if (step.type === "pass_on" && order) return t("why_order_open", { department: order.department });
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
    pass_on: () => `<input id="${id}-department" required placeholder="${t("wo_department")}" aria-label="${t("wo_department")}" autocomplete="off">
      <textarea id="${id}-task" required placeholder="${t("wo_task")}"></textarea>
      <label>${t("deadline")} <input id="${id}-due" type="datetime-local" required></label>`,
    result: () => `<textarea id="${id}-text" required placeholder="${t("wo_result")}"></textarea>`,
    assignee: () => staff && staff.length
      ? `<select id="${id}-who" required><option value="">${t("cs_staff_pick")}</option>${staff.map(s => `<option value="${esc(s.name)}">${esc(s.display_name || s.name)}</option>`).join("")}</select>`
      : `<input id="${id}-who" required placeholder="${t("wo_assignee")}" aria-label="${t("wo_assignee")}" autocomplete="off">`,
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
  const options = openIncidents.map(i => `<option value="${i.id}">#${i.id} ${esc(sw.incidentTitle(i))}</option>`).join("");
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
    case "decline": case "explain_delay": case "warn_owner_of_delay": return { type, reason: v("text").trim() };
    case "pass_on": return { type, department: v("department").trim(), task: v("task").trim(), due_at: v("due") ? sw.fromLocal(v("due")) : null };
    case "work_order_result": return { type, text: v("text").trim() };
    case "assign": return { type, to: v("who").trim() };
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
  else if (k.department) detail = [k.department, k.due_at ? `${t("deadline")} ${time(k.due_at)}` : "", k.result || k.reason || ""].filter(Boolean).join(" · ");
  else if (k.reason) detail = k.reason;
  else if (k.to) detail = k.to;
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
  if (r.assigned_to) rows.push([t("cs_assigned_to"), esc(r.assigned_to)]);
  if (r.technician) rows.push([t("cs_technician"), esc(r.technician)]);
  if (r.completion) rows.push([t("cs_report"), `${esc(r.completion.report)} <small>${time(r.completion.at)}</small>`]);
  if (r.reply) rows.push([t("cs_reply"), esc(r.reply)]);
  if (r.follow_up) rows.push([t("cs_followup_record"), `${esc(tp("fm_", r.follow_up.method))} · ${t(r.follow_up.satisfied ? "cs_satisfied" : "cs_unsatisfied")} · ${esc(r.follow_up.outcome)} <small>${esc(r.follow_up.by)} ${time(r.follow_up.at)}</small>`]);
  if (r.rating != null) rows.push([t("cs_rating"), `<span data-rating="${r.rating}">${"★".repeat(r.rating)} ${r.rating}</span>`]);
  if (r.decline_reason) rows.push([t("cs_decline_reason"), esc(r.decline_reason)]);
  for (const w of r.work_orders || []) {
    const late = !w.result && w.breached;
    rows.push([t("wo_order"), `<span data-work-order="${esc(w.department)}" class="${late ? "s-red" : ""}">${esc(w.department)} · ${esc(w.task)} · ${t("deadline")} ${time(w.due_at)}</span>`
      + (w.result ? `<br>${t("wo_result")}: ${esc(w.result.text)}` : "") + (w.delay ? `<br>${t("wo_delay_told")}: ${esc(w.delay.text)}` : "")]);
  }
  return rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`);
}

// ---- photos: from the phone's camera (or a file), kept by /api/v1/files (type signature
// and size checked there), attached by the request's `attach` step -------------------

function photosCard(r) {
  const files = (r.attachments || []).map(a => {
    const url = `/api/v1/files/${encodeURIComponent(a.id)}`;
    const thumb = /^image\/(jpeg|png)$/.test(a.content_type) ? `<img src="${url}" alt="${esc(a.caption)}" loading="lazy"><br>` : "";
    return `<a class="attachment" data-key="f:${esc(a.id)}" data-attachment="${esc(a.id)}" href="${url}" target="_blank" rel="noopener">${thumb}${esc(a.caption || t("rq_photo"))}<br><small>${esc(a.added_by)} · ${time(a.added_at)}</small></a>`;
  }).join("");
  // The browser's own file button speaks the browser's language: a button of the page's.
  const form = mayAct && OPEN_STATES.includes(r.state) ? `<form id="rq-photo-form" class="inline" data-key="photo-form">
      <input id="rq-photo-file" type="file" accept="image/*" capture="environment" hidden>
      <button type="button" id="rq-photo-take">${t("ip_photo")}</button> <small id="rq-photo-name"></small>
      <label>${t("ip_caption")}<input id="rq-photo-caption" autocomplete="off"></label>
      <button type="submit" class="primary" id="rq-photo-go">${t("ip_attach")}</button></form>` : "";
  return `<div class="card" id="rq-photos"><h2>${t("rq_photos", { n: (r.attachments || []).length })}</h2>
    ${files ? `<div class="thumbs">${files}</div>` : `<div class="empty">${t("none")}</div>`}${form}</div>`;
}

/// Uploads the chosen photo, then attaches it to the request; a refusal in words.
async function attachRequestPhoto() {
  const file = byId("rq-photo-file").files[0];
  if (!file) { sw.toast(t("ip_no_photo")); return; }
  const actor = sw.actor();
  if (!actor) return;
  const r = await fetch(`/api/v1/files?by=${encodeURIComponent(actor)}`, { method: "POST", headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": sw.meta("csrf-token") }, body: file });
  const up = await r.json().catch(() => ({}));
  if (!r.ok) { sw.toast(t("refused", { why: sw.refusal(up, r.status) })); return; }
  const action = { type: "attach", id: up.id, kind: "scene_photo", content_type: up.content_type, size_bytes: up.size_bytes, caption: byId("rq-photo-caption").value.trim() };
  if (await sw.post(`/api/v1/requests/${recordId}/commands`, { actor, note: "", action })) {
    sw.toast(t("ip_attached"), "ok");
    byId("rq-photo-file").value = "";
    byId("rq-photo-caption").value = "";
    byId("rq-photo-name").textContent = "";
  }
  refresh();
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
    ${photosCard(r)}
    <div class="card"><h2>${t("cs_steps")}</h2><div class="steps">${STEPS.filter(s => !s.kinds || s.kinds.includes(r.kind.type)).map(s => stepCard(s, r)).join("")}${linkCard(r)}</div></div>
    <div class="card"><h2>${t("cs_chasers")}</h2>${table([t("when"), t("clocks"), t("cs_reason")], chasers)}</div>
    <div class="card"><h2>${t("timeline")}</h2><div id="rq-timeline">${table([t("when"), t("actor_col"), t("message")], timeline)}</div></div>`;
}

let shownRequest = null;
async function refreshRequest() {
  if (staff === null) staff = await sw.get("/api/v1/staff").catch(() => []);
  const [r, incidents] = await Promise.all([sw.get(`/api/v1/requests/${recordId}`), sw.get("/api/v1/incidents")]);
  openIncidents = incidents;
  await sw.learnTitles(incidents);
  shownRequest = r;
  sw.patch("view-request", renderRequest(r));
}

async function requestStep(e) {
  if (e.target.id === "rq-photo-form") {
    e.preventDefault();
    return attachRequestPhoto();
  }
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
