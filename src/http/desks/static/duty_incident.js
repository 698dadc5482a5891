// The duty desk's incident page (/incidents/{id}): its clocks; each workflow step as a
// form, or greyed with the reason it is not offered (core incidents/workflow.rs and
// claims.rs decide; a refusal still shows the server's reason); the claim steps; the
// affected households, added by a unit search, and a notice to them through the service
// desk's compose form, prefilled; photos from the phone's camera; the timeline in words
// and site time. Also the helpers the incident board shares. Loaded before duty.js.
"use strict";
const dutyIncident = (() => {
  const { t, tp, esc, time, meta } = sw;
  const $ = id => document.getElementById(id);
  const alarmName = id => dutyAlarms.name(id);
  /// An incident's place: an alarm opens one at its device's id; show the device's name.
  const place = loc => dutyAlarms.deviceName(loc);
  /// An incident category: the catalogue's word, else the key made readable (a site's own).
  const category = c => t("cat_" + c) === "cat_" + c ? String(c).replace(/_/g, " ") : t("cat_" + c);
  const kindOf = k => typeof k === "string" ? k : Object.keys(k || {})[0] || "";

  function table(title, head, rows, id = "") {
    const body = rows.length ? rows.join("") : `<tr><td colspan="${head.length}" class="empty">${t("none")}</td></tr>`;
    return `<div class="card"><h2>${title}</h2><table${id ? ` id="${id}"` : ""}><thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table></div>`;
  }

  function clockText(c) {
    if (c.status === "met") return `<span class="s-met">${t("met")}</span>`;
    const s = c.remaining_secs;
    if (s === null || s === undefined) return "";
    return `<span class="s-${esc(c.status)}">${t(s < 0 ? "overdue_by" : "left", { d: sw.dur(s) })}</span>`;
  }

  function head(i) {
    return `#${i.id} ${esc(dutyAlarms.title(i))} <span class="badge">${esc(category(i.category))}</span> <span class="badge state">${esc(tp("st_", i.state))}</span>`;
  }

  // ---- the timeline, in words ----------------------------------------------------------

  let staff = null;
  const personName = n => ((staff || []).find(s => s.name === n) || {}).display_name || n;

  function eventText(kind, i) {
    const k = kind || {}, type = k.type || "";
    return esc(tp("ev_", type)) + eventDetail(k, i).map(d => " · " + d).join("");
  }

  /// An attachment by its caption, the words a person gave it (its id is a hash).
  const captionOf = (i, id) => ((i.attachments || []).find(a => a.id === id) || {}).caption;

  function eventDetail(k, i) {
    switch (k.type) {
      case "opened": return [esc(category(k.category)), esc(sourceText(k.source))];
      case "state_changed": return [`${esc(tp("st_", k.from))} → ${esc(tp("st_", k.to))}`];
      case "dispatched": return [esc(personName(k.to))];
      case "sla_started": case "sla_breached": return [esc(tp("sla_", k.sla)), `${t("deadline")} ${time(k.due_at)}`];
      case "sla_met": return [esc(tp("sla_", k.sla))].concat(k.late ? [t("late")] : []);
      case "attached": return [esc(tp("att_", k.kind)), esc(captionOf(i, k.attachment_id) || "")].filter(Boolean);
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

  // ---- the steps: a form each, or why it is not offered ------------------------------

  const OPEN = ["reported", "dispatched", "on_site", "resolved", "followed_up"];
  const BEFORE_RESOLVE = ["incident_report", "insurer_notified"];
  const EVIDENCE = ["incident_report", "insurer_notified", "claim_notice", "police_report"];
  const ACCIDENTS = ["water_ingress", "glass_breakage", "fire", "equipment_damage", "customer_property", "theft_robbery", "finance_cash_theft", "vehicle_damage", "third_party"];
  const CLAIM_ITEMS = ["claim_notice", "loss_list", "appraisal", "quotes_and_invoices", "photos", "statements", "valuation_proof"];
  const CALL = ["insurer", "spoken_to", "reference", "policy_number", "insured_object", "cause", "place", "loss_outline"];

  /// The evidence clocks of `steps` still running on an accident (claims.rs open_evidence).
  const openEvidence = (i, steps) => i.accident ? i.clocks.filter(c => steps.includes(c.sla) && !c.met_at).map(c => c.sla) : [];
  const clockMet = (i, sla) => i.clocks.some(c => c.sla === sla && c.met_at);

  function evidenceWhy(i, steps) {
    const open = openEvidence(i, steps);
    if (!open.length || i.evidence_waiver) return "";
    return t("ip_why_evidence", { missing: open.map(s => tp("sla_", s)).join(t("list_sep")) });
  }

  const accidentOnly = i => i.accident ? "" : t("ip_why_not_accident");

  // Each step: the states it is taken in, an extra guard, and its fields.
  const STEPS = [
    { type: "dispatch", states: ["reported"], fields: i => personField() + noteField() },
    { type: "arrive_on_site", states: ["reported", "dispatched"] },
    { type: "make_safe", states: ["dispatched", "on_site"] },
    { type: "resolve", states: ["dispatched", "on_site"], guard: i => evidenceWhy(i, BEFORE_RESOLVE) },
    { type: "follow_up", states: ["resolved"], fields: () => noteField() },
    { type: "close", states: ["followed_up"], guard: i => evidenceWhy(i, EVIDENCE) },
    { type: "add_note", states: OPEN, fields: () => `<textarea name="note" required placeholder="${t("note")}"></textarea>`, customer: true },
    { type: "cancel", states: OPEN, folded: true, fields: () => `<textarea name="reason" required placeholder="${t("reason")}"></textarea>` },
  ];
  const CLAIM = [
    { type: "file_incident_report", guard: i => accidentOnly(i) || (clockMet(i, "incident_report") ? t("ip_why_done") : "") },
    { type: "notify_insurer", folded: true, guard: i => accidentOnly(i) || (clockMet(i, "insurer_notified") ? t("ip_why_done") : ""), fields: () => callFields() },
    { type: "file_claim_item", folded: true, guard: accidentOnly, fields: () => `<select name="item">${CLAIM_ITEMS.map(c => `<option value="${c}">${esc(tp("ci_", c))}</option>`).join("")}</select>` },
    { type: "report_to_police", guard: i => !i.clocks.some(c => c.sla === "police_report") ? t("ip_why_police") : clockMet(i, "police_report") ? t("ip_why_done") : "" },
    { type: "waive_evidence", folded: true, guard: waiveWhy, fields: () => `<textarea name="reason" required placeholder="${t("ip_waive_reason")}"></textarea>` },
    { type: "raise_to_accident", folded: true, guard: i => i.accident ? t("ip_why_accident") : "", fields: () => `<label>${t("ip_accident_category")}<select name="category">${ACCIDENTS.map(c => `<option value="${c}">${esc(category(c))}</option>`).join("")}</select></label>` },
  ];
  function waiveWhy(i) {
    const role = meta("role");
    if (!i.accident) return t("ip_why_not_accident");
    if (i.evidence_waiver) return t("ip_why_waived", { by: i.evidence_waiver[0].by, reason: i.evidence_waiver[1] });
    if (!openEvidence(i, EVIDENCE).length) return t("ip_why_nothing_open");
    if (role && role !== "admin") return t("ip_why_admin");
    return "";
  }

  function personField() {
    const list = staff || [];
    return list.length
      ? `<label>${t("ip_person")}<select name="to" required><option value="">${t("cs_staff_pick")}</option>${list.map(s => `<option value="${esc(s.name)}">${esc(s.display_name || s.name)}</option>`).join("")}</select></label>`
      : `<label>${t("ip_person")}<input name="to" required autocomplete="off"></label>`;
  }
  const noteField = () => `<label>${t("ip_note")}<input name="note" autocomplete="off"></label>`;
  const callFields = () => CALL.map(f => `<label>${t("ic_" + f)}<input name="${f}" required autocomplete="off"></label>`).join("")
    + ["called_at", "under_control_at"].map(f => `<label>${t("ic_" + f)}<input name="${f}" ${sw.dateAttrs()} required></label>`).join("");

  /// Why step `s` is not offered on `i`, or "".
  function whyNot(s, i) {
    const role = meta("role");
    if (role === "viewer" || (role === "customer_service" && !s.customer)) return t("why_role");
    if (s.states && !s.states.includes(i.state)) return t("why_state", { state: tp("st_", i.state) });
    if (!s.states && !OPEN.includes(i.state)) return t("why_state", { state: tp("st_", i.state) });
    return s.guard ? s.guard(i) : "";
  }

  function step(s, i) {
    const why = whyNot(s, i), name = esc(tp("do_", s.type));
    const form = `${s.fields ? s.fields(i) : ""}<button type="submit" class="primary" data-action="${s.type}">${name}</button>`;
    // A long or rare step's form stays folded until asked for (a phone scrolls less).
    const body = why ? `<h3>${name}</h3><div class="why">${esc(why)}</div>`
      : s.folded ? `<details><summary>${name}</summary>${form}</details>` : `<h3>${name}</h3>${form}`;
    return `<form class="step${why ? " off" : ""}" data-step="${s.type}" data-key="s:${s.type}">${body}</form>`;
  }

  /// The action a step's form sends (core IncidentAction).
  function actionOf(type, f) {
    const v = n => (f.elements[n] ? f.elements[n].value.trim() : "");
    switch (type) {
      case "dispatch": return { type, to: v("to") || null };
      case "cancel": case "waive_evidence": return { type, reason: v("reason") };
      case "file_claim_item": return { type, item: v("item") };
      case "raise_to_accident": return { type, category: v("category") };
      case "notify_insurer": {
        // Typed in the fixed form, site time; a bad date sends nothing.
        const called_at = sw.dateOf(f.elements.called_at), under_control_at = sw.dateOf(f.elements.under_control_at);
        if (called_at === undefined || under_control_at === undefined) return null;
        return { type, ...Object.fromEntries(CALL.map(n => [n, v(n)])), called_at, under_control_at };
      }
      default: return { type };
    }
  }

  // ---- households: search a unit, add it; a notice to them ----------------------------

  let found = [];
  async function findUnits(q) {
    q = q.trim();
    if (!q) return;
    const hits = new Map();
    const unit = await sw.get(`/api/v1/units/${encodeURIComponent(q)}`).catch(() => null);
    if (unit) hits.set(unit.id, (unit.contacts || []).map(c => c.name).filter(Boolean));
    const owners = await sw.get(`/api/v1/owners?q=${encodeURIComponent(q)}&limit=20`).catch(() => []);
    for (const o of owners) hits.set(o.unit, (hits.get(o.unit) || []).concat(o.name ? [o.name] : []));
    found = [...hits].map(([unit, names]) => ({ unit, owner: [...new Set(names)][0] || "" }));
    if (!found.length) sw.toast(t("cs_no_match"));
    duty.refresh();
  }

  function households(i) {
    const linked = new Set(i.households.map(h => h.unit));
    const rows = i.households.map(h => `<tr data-unit="${esc(h.unit)}" data-key="h:${esc(h.unit)}"><td>${esc(h.unit)}</td><td>${esc(h.owner || "")}</td><td>${time(h.contacted_at)}</td>
      <td>${esc(h.damaged_items.join("、"))}</td><td>${esc(h.compensation || "")}</td></tr>`);
    const hits = found.map(f => `<li data-key="f:${esc(f.unit)}">${esc(f.unit)} ${esc(f.owner)} ${linked.has(f.unit) ? `<span class="badge">${t("ip_added")}</span>`
      : `<button type="button" data-link="${esc(f.unit)}" data-owner="${esc(f.owner)}">${t("ip_add")}</button>`}</li>`).join("");
    const title = dutyAlarms.title(i);
    const prefill = new URLSearchParams({ incident: i.id, title, body: t("ip_notice_body", { title }) });
    return table(t("households"), [t("unit_col"), t("owner"), t("contacted"), t("damage"), t("compensation")], rows, "households")
      + `<div class="card"><form id="hh-form" class="inline"><input id="hh-q" type="search" placeholder="${t("ip_find_unit")}" aria-label="${t("ip_find_unit")}" autocomplete="off">
        <button type="submit">${t("ip_find")}</button></form><ul id="hh-found" class="found">${hits}</ul>
        <a class="btn primary" id="notify" href="/service/notices/new?${esc(prefill)}">${t("notify_households")}</a></div>`;
  }

  // ---- photos: from the phone's camera, kept by /api/v1/files, attached by a step -----

  function photos(i) {
    const files = i.attachments.map(a => {
      const url = `/api/v1/files/${encodeURIComponent(a.id)}`;
      const label = `${esc(a.caption || tp("att_", a.kind))}<br><small>${esc(tp("att_", a.kind))} · ${esc(a.added_by)} · ${time(a.added_at)}</small>`;
      const thumb = /^image\/(jpeg|png)$/.test(a.content_type) ? `<img src="${url}" alt="${esc(a.caption)}" loading="lazy"><br>` : "";
      return `<a class="attachment" data-key="f:${esc(a.id)}" href="${url}" target="_blank" rel="noopener">${thumb}${label}</a>`;
    }).join("");
    const form = OPEN.includes(i.state) && meta("role") !== "viewer" ? `<form id="photo-form" class="inline">
        <label>${t("ip_photo")}<input id="photo-file" type="file" accept="image/*" capture="environment"></label>
        <label>${t("ip_caption")}<input id="photo-caption" autocomplete="off"></label>
        <button type="submit" class="primary" id="photo-go">${t("ip_attach")}</button></form>` : "";
    return `<div class="card"><h2>${t("attachments")}</h2>${files ? `<div class="thumbs">${files}</div>` : `<div class="empty">${t("none")}</div>`}${form}</div>`;
  }

  async function attachPhoto() {
    const file = $("photo-file").files[0];
    if (!file) { sw.toast(t("ip_no_photo")); return; }
    const a = sw.actor();
    if (!a) return;
    const r = await fetch(`/api/v1/files?by=${encodeURIComponent(a)}`, { method: "POST", headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": meta("csrf-token") }, body: file });
    const up = await r.json().catch(() => ({}));
    if (!r.ok) { sw.toast(t("refused", { why: sw.refusal(up, r.status) })); return; }
    const action = { type: "attach", id: up.id, kind: "scene_photo", content_type: up.content_type, size_bytes: up.size_bytes, caption: $("photo-caption").value.trim() };
    if (await sw.post(`/api/v1/incidents/${current}/commands`, { actor: a, note: "", action })) {
      sw.toast(t("ip_attached"), "ok");
      $("photo-file").value = "";
      $("photo-caption").value = "";
    }
    duty.refresh();
  }

  // ---- the page --------------------------------------------------------------------------

  function render(i, notices) {
    const clocks = i.clocks.map(c => clockRow(i, c))
      .concat((i.pending_clocks || []).map(r => `<tr><td>${esc(tp("sla_", r.sla))}</td><td>—</td><td><small>${t("pending")}</small></td></tr>`));
    const sent = i.timeline.filter(e => e.kind && e.kind.type === "dispatched").map(e => e.kind.to).pop();
    const timeline = i.timeline.map((e, n) => `<tr data-event="${n}" data-key="e:${n}"><td>${time(e.at)}</td><td class="actor">${esc(e.actor)}</td>
        <td class="what">${eventText(e.kind, i)}</td><td class="note">${esc(e.note)}</td></tr>`);
    const no = notices.map(n => {
      const done = k => n.deliveries.filter(d => d[k]).length;
      return `<tr data-notice="${n.id}"><td><span class="badge lv-${esc(n.color)}">${esc(tp("lv_", n.level))}</span></td>
        <td><a href="/service/notices/${n.id}">${esc(n.title)}</a><br><small>${esc(n.body)}</small></td><td>${time(n.created_at)}</td>
        <td>${done("delivered_at")}/${n.deliveries.length} ${t("delivered")} · ${done("confirmed_at")} ${t("confirmed")}</td></tr>`;
    });
    const alarms = i.alarm_trips.map(a => `<tr><td title="${esc(a.alarm_id)}">${esc(alarmName(a.alarm_id))}</td><td>${time(a.raised_at)}</td></tr>`);
    return `<div class="card" data-incident-page="${i.id}"><a href="/#incidents">${t("back")}</a>
        <h2>${head(i)}</h2>
        <small>${t("location")}: ${esc(place(i.location))} · ${time(i.reported_at)} · ${t("source")}: ${esc(sourceText(i.source))}${i.cancel_reason ? " · " + esc(i.cancel_reason) : ""}${sent ? " · " + esc(t("ip_assigned", { who: personName(sent) })) : ""}</small>
        <table class="clocks"><tbody>${clocks.join("")}</tbody></table>
        <h3>${t("ip_steps")}</h3><div class="steps">${STEPS.map(s => step(s, i)).join("")}</div>
        <h3>${t("ip_claim")}</h3><div class="steps">${CLAIM.map(s => step(s, i)).join("")}</div></div>`
      + table(t("timeline"), [t("when"), t("actor_col"), t("message"), t("note")], timeline, "timeline")
      + households(i)
      + table(t("incident_notices"), [t("kind"), t("title"), t("when"), ""], no, "incident-notices")
      + photos(i)
      + table(t("linked_alarms"), [t("message"), t("since")], alarms);
  }

  let current = null;
  async function draw(id) {
    current = id;
    if (staff === null) staff = await sw.get("/api/v1/staff").catch(() => []);
    const [i, n] = await Promise.all([sw.get(`/api/v1/incidents/${id}`), sw.get(`/api/v1/notices?incident=${id}`).catch(() => [])]);
    sw.patch("incident", render(i, n));
  }

  // One listener for the page's forms and buttons: the page is patched every second, so
  // handlers on the panel survive every redraw.
  const panel = $("incident");
  panel.addEventListener("submit", async e => {
    e.preventDefault();
    const f = e.target;
    if (f.id === "hh-form") return findUnits($("hh-q").value);
    if (f.id === "photo-form") return attachPhoto();
    const type = f.dataset.step;
    if (!type) return;
    const a = sw.actor();
    if (!a) return;
    const note = type === "add_note" ? f.elements.note.value.trim() : f.elements.note ? f.elements.note.value.trim() : "";
    const action = actionOf(type, f);
    if (!action) return;
    if (await sw.post(`/api/v1/incidents/${current}/commands`, { actor: a, note, action })) f.reset();
    duty.refresh();
  });
  panel.addEventListener("click", async e => {
    const b = e.target.closest("button[data-link]");
    if (!b) return;
    const a = sw.actor();
    if (!a) return;
    const action = { type: "link_household", unit: b.dataset.link, owner: b.dataset.owner || null };
    await sw.post(`/api/v1/incidents/${current}/commands`, { actor: a, note: "", action });
    duty.refresh();
  });

  return { draw, head, clockText, category, place, table, sourceText };
})();
