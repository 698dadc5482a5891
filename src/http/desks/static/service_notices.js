// The service desk's notices: a notice's page (/service/notices/{id}) with each unit's
// delivery, and the compose form (/service/notices/new). Loaded after service.js.
"use strict";

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

/// The compose form as the API's notice, or null when a date is not in the fixed form
/// (the field says so; nothing is sent).
async function noticeBody() {
  const v = id => byId(id).value.trim();
  const [starts_at, ends_at, expires_at] = ["nt-starts", "nt-ends", "nt-expires"].map(id => sw.dateOf(byId(id)));
  if ([starts_at, ends_at, expires_at].includes(undefined)) return null;
  return {
    level: v("nt-level"), template: v("nt-template"), title: v("nt-title") || null, body: v("nt-body") || null,
    starts_at, ends_at, expires_at, target: await noticeTarget(), created_by: sw.actor(),
  };
}

async function preview() {
  const body = await noticeBody();
  if (!body) return;
  const p = await sw.post("/api/v1/notices/preview", body);
  const box = byId("preview");
  box.hidden = !p;
  if (p) box.innerHTML = `<span class="swatch lv-${esc(p.color)}"></span> <strong>${esc(p.title)}</strong>\n${esc(p.body)}\n<small>${t("nt_units_count", { n: p.units.length })}: ${esc(p.units.slice(0, 30).join("、"))}${p.units.length > 30 ? "…" : ""}</small>`;
}

async function issue(e) {
  e.preventDefault();
  const body = await noticeBody();
  if (!body) return;
  const n = await sw.post("/api/v1/notices", body);
  if (n) location.href = `/service/notices/${n.id}`;
}

async function setUpCompose() {
  const incidents = await sw.get("/api/v1/incidents").catch(() => []);
  await sw.learnTitles(incidents);
  byId("nt-incident").innerHTML = incidents.map(i => `<option value="${i.id}">#${i.id} ${esc(sw.incidentTitle(i))}</option>`).join("");
  byId("nt-expires").value = sw.showDate(Date.now() + 3 * 86400e3);
  const pick = kind => { document.querySelector(`input[name="target"][value="${kind}"]`).checked = true; };
  // The incident page's "notify the households" arrives with its incident, a title and a body.
  if (params.get("title")) byId("nt-title").value = params.get("title");
  if (params.get("body")) byId("nt-body").value = params.get("body");
  if (params.get("incident")) { byId("nt-incident").value = params.get("incident"); pick("incident"); }
  else if (params.get("unit")) { byId("nt-units").value = params.get("unit"); pick("units"); }
  else pick("building");
  const swatch = () => { byId("nt-swatch").className = `swatch lv-${{ notice: "green", important: "yellow", urgent: "red" }[byId("nt-level").value]}`; };
  byId("nt-level").onchange = swatch;
  byId("nt-preview").onclick = preview;
  byId("compose").onsubmit = issue;
  // Customer service issues notices (rules.md §8.2); another desk's prefilled form waits
  // for them, saying so instead of offering a button the server would refuse.
  byId("nt-issue").hidden = !mayAct;
  byId("nt-why").hidden = mayAct;
}
