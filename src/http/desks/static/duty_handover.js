// The duty desk's hand-over tab (交接班): the open hand-over with every item it lists
// (alarms, incidents, requests, in words), a note per item from the outgoing shift, the
// incoming person's acknowledgement item by item and the completion; a button the
// hand-over's guard would refuse is greyed with the reason beside it. Below it, the duty
// log (值班记录) of the current shift, and the hand-overs kept. Shifts run 08:00–20:00
// (白班) and 20:00–08:00 (夜班) site time, on the daemon's clock.
"use strict";
const dutyHandover = (() => {
  const { t, esc, time } = sw;
  const DAY_START = 8, HOUR = 3600e3;

  // The daemon's clock, not the browser's: `now` of /api/v1/points, asked once a minute.
  let offset = { at: 0, ms: 0 };
  async function serverNow() {
    if (Date.now() - offset.at > 60000) {
      const p = await sw.get("/api/v1/points").catch(() => null);
      if (p) offset = { at: Date.now(), ms: Date.parse(p.now) - Date.now() };
    }
    return Date.now() + offset.ms;
  }

  /// The shift holding `now`: its start, end, and name in the log (`2026-11-24 night`).
  function shiftOf(now) {
    const [date, hm] = sw.toLocal(now).split("T"), hour = Number(hm.slice(0, 2));
    const at = (d, h) => Date.parse(sw.fromLocal(`${d}T${String(h).padStart(2, "0")}:00`));
    let start, kind = "night";
    if (hour >= DAY_START && hour < DAY_START + 12) { start = at(date, DAY_START); kind = "day"; }
    else if (hour >= DAY_START + 12) start = at(date, DAY_START + 12);
    else start = at(sw.toLocal(at(date, 12) - 24 * HOUR).slice(0, 10), DAY_START + 12);
    const day = sw.toLocal(start).slice(0, 10);
    return { start, end: start + 12 * HOUR, name: `${day} ${kind}`, label: t("ho_shift_" + kind, { date: day.replace(/-/g, "/") }) };
  }

  /// A hand-over item's reference in words, with a link to its page.
  function itemName(ref, summary, books) {
    const [kind, ...rest] = String(ref).split(":"), id = rest.join(":");
    if (kind === "incident") {
      const i = books.incidents.find(x => String(x.id) === id);
      return `<a href="/incidents/${esc(id)}">${i ? dutyIncident.head(i) : "#" + esc(id)}</a>`;
    }
    if (kind === "request") {
      const r = books.requests.find(x => String(x.id) === id);
      const text = r ? `${esc(r.unit)} ${esc(r.summary)} <span class="badge state">${esc(sw.tp("rs_", r.state))}</span>` : "";
      return `<a href="/service/requests/${esc(id)}">${t("ho_request")} #${esc(id)}</a> ${text}`;
    }
    if (kind === "alarm") return `${t("ho_alarm")} · ${esc(dutyAlarms.name(id))}`;
    return esc(summary);
  }

  const why = text => text ? `<span class="why">${esc(text)}</span>` : "";

  function entryRow(h, e, me, books) {
    const ref = e.item.reference, key = esc(ref), open = !h.completed;
    const notes = e.notes.map(n => `<li>${esc(n)}</li>`).join("");
    const ack = e.acknowledged
      ? `<span class="s-met">${t("ho_acked_by", { name: esc(e.acknowledged[0]), time: time(e.acknowledged[1]) })}</span>`
      : open ? `<button type="button" data-ho-ack="${key}"${me === h.outgoing ? ` disabled title="${esc(t("ho_why_same", { name: h.outgoing }))}"` : ""}>${t("ho_ack")}</button>` : "";
    const noteForm = open ? `<span class="ho-note"><input data-ho-note-text="${key}" placeholder="${t("ho_note_ph")}" aria-label="${t("ho_note_ph")}" autocomplete="off">
      <button type="button" data-ho-note="${key}">${t("ho_add_note")}</button></span>` : "";
    return `<tr data-item="${key}" data-key="hi:${key}" class="${e.item.overdue ? "unack" : ""}">
      <td>${itemName(ref, e.item.summary, books)}${e.item.overdue ? ` <span class="badge p-high">${t("overdue")}</span>` : ""}</td>
      <td><ul class="notes">${notes}</ul>${noteForm}</td><td class="ack">${ack}</td></tr>`;
  }

  function current(h, me, books) {
    const left = h.entries.filter(e => !e.acknowledged).length;
    const refuse = me === h.outgoing ? t("ho_why_same", { name: h.outgoing })
      : left ? t("ho_why_left", { n: left }) : "";
    const rows = h.entries.map(e => entryRow(h, e, me, books));
    const notes = h.notes.map(n => `<li>${esc(n)}</li>`).join("");
    return `<div class="card" id="ho-current" data-handover-open="${h.id}"><h2>${t("ho_open", { id: h.id })}</h2>
      <p>${t("outgoing")}: <b>${esc(h.outgoing)}</b> · ${time(h.started_at)} · ${t("ho_progress", { n: h.entries.length - left, m: h.entries.length })}</p>
      <ul class="notes">${notes}</ul>
      <h3>${t("open_items")}</h3>
      <table id="ho-items"><thead><tr><th>${t("ho_item")}</th><th>${t("ho_notes")}</th><th>${t("ho_ack_col")}</th></tr></thead>
      <tbody>${rows.length ? rows.join("") : `<tr><td colspan="3" class="empty">${t("none")}</td></tr>`}</tbody></table>
      <div class="step"><button type="button" class="primary" id="ho-complete"${refuse ? " disabled" : ""}>${t("ho_complete")}</button>${why(refuse)}</div></div>`;
  }

  function starter() {
    return `<form class="card step" id="ho-start-form"><h2>${t("ho_start_title")}</h2><p>${t("ho_start_help")}</p>
      <label>${t("ho_shift_note")}<input id="ho-start-note" autocomplete="off"></label>
      <button type="submit" class="primary" id="ho-start">${t("ho_start")}</button></form>`;
  }

  function dutyLog(shift, log) {
    const rows = log.entries.map(e => `<tr data-key="le:${e.id}"><td>${time(e.at)}</td><td>${esc(e.author)}</td><td>${esc(e.text)}</td></tr>`);
    return dutyIncident.table(t("ho_log", { shift: shift.label }), [t("when"), t("ho_author"), t("message")], rows, "duty-log")
      + `<form class="card step" id="log-form"><label class="wide">${t("ho_log_entry")}<textarea id="log-text" rows="2"></textarea></label>
      <button type="submit" class="primary" id="log-write">${t("ho_log_write")}</button></form>`;
  }

  function kept(list) {
    const rows = list.slice(-20).reverse().map(h => {
      const acked = h.entries.filter(e => e.acknowledged).length;
      return `<tr data-handover="${h.id}"><td>#${h.id}</td><td>${time(h.started_at)}</td><td>${esc(h.outgoing)}</td>
        <td>${h.completed ? esc(h.completed[0]) : ""}</td><td class="${h.completed ? "" : "s-amber"}">${acked}/${h.entries.length} ${t("acked")}</td></tr>`;
    });
    return dutyIncident.table(t("handovers"), ["#", t("since"), t("outgoing"), t("incoming"), t("open_items")], rows);
  }

  /// The tab's HTML: the open hand-over (or the form to start one), the shift's duty
  /// log, the hand-overs kept.
  async function html() {
    const now = await serverNow(), shift = shiftOf(now);
    const span = `from=${new Date(shift.start).toISOString()}&to=${new Date(shift.end).toISOString()}`;
    const [list, log, incidents, requests] = await Promise.all([
      sw.get("/api/v1/handovers"), sw.get(`/api/v1/duty-log?${span}`).catch(() => ({ entries: [] })),
      sw.get("/api/v1/incidents").catch(() => []), sw.get("/api/v1/requests").catch(() => []),
    ]);
    const open = list.filter(h => !h.completed).pop();
    const me = sw.me || localStorage.getItem("actor") || "";
    state.open = open ? open.id : null;
    state.shift = shift;
    const top = open ? current(open, me, { incidents, requests }) : starter();
    return top + dutyLog(shift, log) + kept(list);
  }

  const state = { open: null, shift: null };
  const panel = document.getElementById("handover");
  async function step(action) {
    const actor = sw.actor();
    if (!actor || state.open == null) return false;
    const done = await sw.post(`/api/v1/handovers/${state.open}/commands`, { actor, action });
    if (done) duty.refresh();
    return !!done;
  }
  panel.addEventListener("click", e => {
    const b = e.target.closest("button");
    if (!b || b.disabled) return;
    if (b.dataset.hoAck) step({ type: "acknowledge", reference: b.dataset.hoAck });
    else if (b.dataset.hoNote) {
      const field = [...panel.querySelectorAll("input[data-ho-note-text]")].find(i => i.dataset.hoNoteText === b.dataset.hoNote);
      const text = field.value.trim();
      if (!text) { sw.toast(t("ho_note_empty")); return; }
      step({ type: "item_note", reference: b.dataset.hoNote, text }).then(ok => { if (ok) field.value = ""; });
    } else if (b.id === "ho-complete") {
      step({ type: "complete" }).then(ok => ok && sw.toast(t("ho_completed"), "ok"));
    }
  });
  panel.addEventListener("submit", async e => {
    e.preventDefault();
    const actor = sw.actor();
    if (!actor) return;
    if (e.target.id === "ho-start-form") {
      const note = document.getElementById("ho-start-note").value.trim() || null;
      if (await sw.post("/api/v1/handovers", { outgoing: actor, note })) duty.refresh();
    } else if (e.target.id === "log-form") {
      const field = document.getElementById("log-text"), text = field.value.trim();
      if (!text) { sw.toast(t("ho_note_empty")); return; }
      if (await sw.post("/api/v1/duty-log", { author: actor, shift: state.shift.name, text })) { field.value = ""; duty.refresh(); }
    }
  });

  return { html, shiftOf, serverNow };
})();
