// The duty desk's alarm console (the alarms tab): filters by priority, state, building,
// device and text, paged as /api/v1/alarms pages; several alarms acknowledged with one
// comment; an alarm's detail (who acknowledged it, its history, a chart of its point
// around the raise, drawn by the server) with shelve, suppress and out of service, each
// confirmed first; and the tone for new high and emergency alarms. Loaded before duty.js,
// which calls `dutyAlarms.standing()` every second and `dutyAlarms.draw()` on this tab.
"use strict";
const dutyAlarms = (() => {
  const { t, esc, time } = sw;
  const PAGE = 50;
  const $ = id => document.getElementById(id);
  const enc = encodeURIComponent;
  let devices = [], deviceNames = {};
  const messages = {};
  /// The points whose alarm is active now (the plant tab marks their values).
  let alarmedPoints = new Set();
  let page = { offset: 0, total: 0, rows: [] };
  const selected = new Set();
  let openId = null, openAlarm = null;

  /// An alarm's message in the page's language: the rule's zh message on the zh page
  /// (English only where the config gives none); a comm-loss alarm's text is the engine's
  /// English with the device id, so the page says it from the catalogue instead.
  const text = a => String(a.id).endsWith(":comm") ? t("ac_comm", { device: deviceName(a.device) })
    : (sw.lang === "zh" && a.message_zh) || a.message;
  const english = {};
  const remember = a => { messages[a.id] = text(a); english[a.id] = a.message; };
  const asked = new Set();
  /// An incident's title in the page's language: one an alarm opened carries the alarm's
  /// English message, so it is shown as the alarm's message in this language (asked once).
  const title = i => {
    const id = i.source && i.source.alarm;
    if (!id) return i.title;
    if (!(id in english) && !asked.has(id)) {
      asked.add(id);
      sw.get(`/api/v1/alarms/${encodeURIComponent(id)}`).then(remember).catch(() => {});
    }
    return english[id] === i.title ? messages[id] : i.title;
  };
  const acknowledgeable = a => a.state === "unack_active" || a.state === "unack_returned";
  /// An alarm in words: its message, else its device's name, never its id.
  const name = id => messages[id] || deviceNames[String(id).split(".")[0].split(":")[0]] || t("alarms");
  const deviceName = id => deviceNames[id] || id;

  async function loadDevices() {
    if (devices.length) return;
    devices = await sw.get("/api/v1/devices").catch(() => []);
    deviceNames = Object.fromEntries(devices.map(d => [d.id, d.name]));
    const buildings = [...new Set(devices.map(d => d.building).filter(Boolean))].sort();
    $("f-building").append(...buildings.map(b => new Option(t("ac_building", { b }), b)));
    $("f-device").append(...devices.map(d => new Option(d.name, d.id)));
  }

  /// Every standing alarm: the status line, the title's count and the tone read these.
  async function standing() {
    await loadDevices();
    const alarms = await sw.get("/api/v1/alarms");
    alarms.forEach(remember);
    alarmedPoints = new Set(alarms.filter(a => a.active && a.point).map(a => a.point));
    const urgent = alarms.filter(a => a.priority === "emergency" && a.state === "unack_active");
    document.title = (urgent.length ? `(${urgent.length}) ` : "") + "sitewatch · " + sw.siteName;
    sound.update(alarms);
    return alarms;
  }

  // ---- the list: one page of the filtered alarms --------------------------------------

  function query() {
    const q = new URLSearchParams({ limit: PAGE, offset: page.offset });
    for (const [key, id] of [["priority", "f-priority"], ["state", "f-state"], ["building", "f-building"], ["device", "f-device"], ["q", "f-q"]]) {
      const v = $(id).value.trim();
      if (v) q.set(key, v);
    }
    return q;
  }

  async function loadPage() {
    const r = await fetch(`/api/v1/alarms?${query()}`);
    if (r.status === 401) location.href = "/login";
    if (!r.ok) throw new Error("alarms " + r.status);
    const rows = await r.json();
    rows.forEach(remember);
    page = { offset: page.offset, total: Number(r.headers.get("x-total-count") || rows.length), rows };
  }

  function badges(a) {
    const b = [];
    if (a.shelved) b.push(t("shelved"));
    if (a.suppressed) b.push(t("tr_suppressed"));
    if (a.out_of_service) b.push(t("tr_out_of_service"));
    if (a.escalation_level) b.push(`${t("escalated")} ${a.escalation_level}`);
    if (a.chattering) b.push(t("ac_chattering"));
    return b.map(x => ` <span class="badge">${esc(x)}</span>`).join("");
  }

  function row(a) {
    const unack = acknowledgeable(a);
    const pick = `<input type="checkbox" class="pick" data-id="${esc(a.id)}" aria-label="${t("ac_select")}"${selected.has(a.id) ? " checked" : ""}${unack ? "" : " disabled"}>`;
    return `<tr class="${unack ? "unack" : ""}${a.id === openId ? " open" : ""}" data-alarm="${esc(a.id)}" data-key="a:${esc(a.id)}">
      <td class="pickcell"><label class="check">${pick}</label></td>
      <td><span class="badge p-${esc(a.priority)}">${esc(t(a.priority))}</span></td>
      <td title="${esc(a.id)}">${esc(text(a))}<br><small>${esc(deviceName(a.device))}${a.repeat_count > 1 ? " ×" + a.repeat_count : ""}</small>
        <small class="narrow-only"> · ${time(a.raised_at)}</small></td>
      <td class="state">${esc(t(a.state))}${badges(a)}</td>
      <td class="wide-only">${time(a.raised_at)}</td>
      <td class="row-actions">${unack ? `<button type="button" class="primary" data-ack="${esc(a.id)}">${t("ack")}</button>` : ""}
        <button type="button" data-open="${esc(a.id)}">${t("ac_details")}</button></td>
    </tr>`;
  }

  function list() {
    const { offset, total, rows } = page;
    const pager = `<div class="pager"><button type="button" data-page="-1"${offset ? "" : " disabled"}>${t("ac_prev")}</button>
      <span>${total ? t("ac_page", { from: offset + 1, to: offset + rows.length, n: total }) : ""}</span>
      <button type="button" data-page="1"${offset + PAGE < total ? "" : " disabled"}>${t("ac_next")}</button></div>`;
    if (!rows.length) return `<div class="card empty">${t("no_alarms")}</div>${pager}`;
    const head = `<tr><th></th><th>${t("priority")}</th><th>${t("message")}</th><th>${t("state")}</th><th class="wide-only">${t("since")}</th><th></th></tr>`;
    return `<div class="card"><table class="alarms"><thead>${head}</thead><tbody>${rows.map(row).join("")}</tbody></table></div>${pager}`;
  }

  function bulkBar() {
    // Selected alarms that are no longer acknowledgeable (someone else did it) drop out.
    const live = new Set(page.rows.filter(acknowledgeable).map(a => a.id));
    for (const id of [...selected]) if (!live.has(id)) selected.delete(id);
    $("selected-count").textContent = t("ac_selected", { n: selected.size });
    $("bulk-ack").disabled = !selected.size;
    // A box the user ticked keeps its ticked state through a patch: set it from the set.
    document.querySelectorAll("#alarm-list input.pick").forEach(b => { b.checked = selected.has(b.dataset.id); });
    $("select-page").checked = live.size > 0 && [...live].every(id => selected.has(id));
  }

  // ---- the journal: the newest entries across alarms, and one alarm's own ------------

  function historyRows(rows, withAlarm) {
    return rows.map(r => {
      const b = r.body || {}, kind = (b.transition || {}).kind;
      const alarm = withAlarm ? `<td title="${esc(b.alarm)}">${esc(name(b.alarm))}</td>` : "";
      return `<tr><td>${time(r.at)}</td>${alarm}<td>${esc(kind ? t("tr_" + kind) : "")}</td><td>${esc(b.actor || "")}</td><td>${esc(b.note || "")}</td></tr>`;
    }).join("") || `<tr><td colspan="5" class="empty">${t("none")}</td></tr>`;
  }

  function journal(rows) {
    return `<h2>${t("history")}</h2><table><thead><tr><th>${t("when")}</th><th>${t("message")}</th><th>${t("state")}</th><th>${t("actor_col")}</th><th>${t("note")}</th></tr></thead>
      <tbody>${historyRows(rows, true)}</tbody></table>`;
  }

  // ---- an alarm's detail ---------------------------------------------------------------

  /// The alarm's value in words: a discrete point's state word from its profile (火警,
  /// 故障跳闸), in the page's language, as the plant tab shows it; else the number.
  const pointOf = {};
  const valueText = a => {
    const p = pointOf[a.point];
    return p ? dutyPlant.fmt({ ...p, value: a.value }) : esc(a.value);
  };

  function detailBody(a) {
    const kv = (k, v) => `<tr><th>${k}</th><td>${v}</td></tr>`;
    const acked = a.acked_by ? `${esc(a.acked_by)} · ${time(a.acked_at)}` : `<span class="s-amber">${t("ac_not_acked")}</span>`;
    return `<table class="kv"><tbody>
      ${kv(t("priority"), `<span class="badge p-${esc(a.priority)}">${esc(t(a.priority))}</span>`)}
      ${kv(t("state"), esc(t(a.state)) + badges(a))}
      ${kv(t("device"), esc(deviceName(a.device)))}
      ${kv(t("ac_raised"), time(a.raised_at))}
      ${a.cleared_at ? kv(t("ac_cleared"), time(a.cleared_at)) : ""}
      ${kv(t("ac_acked_by"), acked)}
      ${a.value == null ? "" : kv(t("ac_value"), valueText(a))}
    </tbody></table>`;
  }

  /// Shows each step's form or the state that replaces it.
  function detailSteps(a) {
    const shelved = !!a.shelved, oos = !!a.out_of_service;
    $("shelve-state").textContent = shelved ? t("ac_shelved_until", { time: time(a.shelved.until), by: a.shelved.by, reason: a.shelved.reason }) : "";
    for (const id of ["shelve-reason", "shelve-minutes", "shelve-go"]) $(id).closest("label, button").hidden = shelved;
    $("unshelve-go").hidden = !shelved;
    $("suppress-state").textContent = a.suppressed ? t("ac_suppressed", { reason: a.suppressed }) : "";
    $("oos-state").textContent = oos ? t("ac_oos_since", { by: a.out_of_service.by, reason: a.out_of_service.reason }) : "";
    for (const id of ["oos-reason", "oos-go"]) $(id).closest("label, button").hidden = oos;
    $("rts-go").hidden = !oos;
  }

  function scopes(a) {
    const d = devices.find(x => x.id === a.device) || {};
    const opts = [["device", t("ac_scope_device", { name: deviceName(a.device) })]];
    if (d.unit) opts.push(["unit", t("ac_scope_unit", { unit: d.unit })]);
    opts.push(["site", t("ac_scope_site")]);
    const sel = $("suppress-scope"), keep = sel.value;
    sel.replaceChildren(...opts.map(([v, label]) => new Option(label, v)));
    if (opts.some(([v]) => v === keep)) sel.value = keep;
  }

  async function open(id) {
    openId = id;
    $("alarm-detail").hidden = false;
    $("detail-chart").hidden = true;
    $("detail-nochart").hidden = true;
    ["shelve-reason", "suppress-reason", "oos-reason"].forEach(f => { $(f).value = ""; });
    await drawDetail(true);
    $("alarm-detail").scrollIntoView({ block: "nearest" });
  }

  async function drawDetail(first) {
    if (!openId) { $("alarm-detail").hidden = true; return; }
    const [a, rows] = await Promise.all([
      sw.get(`/api/v1/alarms/${enc(openId)}`),
      sw.get(`/api/v1/alarms/history?latest=50&alarm=${enc(openId)}`).catch(() => []),
    ]);
    openAlarm = a;
    remember(a);
    if (a.point && !(a.point in pointOf)) {
      pointOf[a.point] = await sw.get(`/api/v1/points/${enc(a.point)}`).catch(() => null);
    }
    $("detail-title").textContent = name(a.id);
    sw.patch("detail-body", detailBody(a));
    sw.patch("detail-history", `<table><thead><tr><th>${t("when")}</th><th>${t("state")}</th><th>${t("actor_col")}</th><th>${t("note")}</th></tr></thead><tbody>${historyRows(rows, false)}</tbody></table>`);
    detailSteps(a);
    if (first) {
      scopes(a);
      // The chart is drawn once per opening: the server renders it from the history.
      $("detail-chart").hidden = !a.point;
      $("detail-nochart").hidden = !!a.point;
      if (a.point) $("detail-chart").src = `/api/v1/alarms/${enc(a.id)}/chart`;
    }
  }

  // ---- suppressions in force: who, why, what, until when; each can be lifted ---------

  const scopeKey = sc => JSON.stringify(sc);
  function scopeText(sc) {
    if (sc.type === "site") return t("ac_scope_site");
    if (sc.type === "device") return t("ac_scope_device", { name: deviceName(sc.id) });
    if (sc.type === "unit") return t("ac_scope_unit", { unit: sc.id });
    return t("sp_scope_point", { point: sc.id });
  }
  let windows = [];
  function suppressionsCard(list) {
    const rows = list.map(w => `<tr data-key="w:${esc(scopeKey(w.scope))}:${esc(w.since)}" data-suppression="${esc(scopeKey(w.scope))}">
      <td>${esc(scopeText(w.scope))}</td><td>${esc(w.reason)}</td><td>${esc(w.by)}</td>
      <td>${w.until ? time(w.until) : t("sp_until_lifted")}</td>
      <td><button type="button" data-lift="${esc(scopeKey(w.scope))}">${t("sp_lift")}</button></td></tr>`).join("");
    return `<h2>${t("sp_title", { n: list.length })}</h2><table><thead><tr><th>${t("ac_scope")}</th><th>${t("ac_reason")}</th>
      <th>${t("actor_col")}</th><th>${t("sp_until")}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  async function drawSuppressions() {
    const list = await sw.get("/api/v1/alarms/suppressions?limit=100").catch(() => null);
    if (!list) return;
    windows = list;
    $("suppressions").hidden = !list.length;
    sw.patch("suppressions", list.length ? suppressionsCard(list) : "");
  }
  $("suppressions").addEventListener("click", async e => {
    const b = e.target.closest("button[data-lift]");
    if (!b) return;
    const w = windows.find(x => scopeKey(x.scope) === b.dataset.lift);
    if (!w) return;
    if (!await ask(t("sp_confirm_lift", { scope: scopeText(w.scope), reason: w.reason }))) return;
    if (await act("/api/v1/alarms/unsuppress", { scope: w.scope })) sw.toast(t("sp_lifted", { scope: scopeText(w.scope) }), "ok");
  });

  async function draw() {
    await loadPage();
    await drawSuppressions();
    sw.patch("alarm-list", list());
    bulkBar();
    await drawDetail(false);
    const rows = await sw.get("/api/v1/alarms/history?latest=20").catch(() => null);
    if (rows) sw.patch("alarm-journal", journal(rows));
  }

  // ---- actions: each is one API command; a refusal shows the server's reason ----------

  /// Asks in the page's own dialog (not `confirm()`, which a phone shows badly).
  function ask(text) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    return new Promise(resolve => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  const actor = () => sw.actor();
  async function act(url, body) {
    const a = actor();
    if (!a) return null;
    const answer = await sw.post(url, { actor: a, ...body });
    duty.refresh();
    return answer;
  }
  const reasonOf = id => {
    const r = $(id).value.trim();
    if (!r) { sw.toast(t("ac_need_reason")); $(id).focus(); }
    return r;
  };
  const chosen = id => $(id).selectedOptions[0].textContent;

  $("alarm-list").addEventListener("click", e => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.ack) act(`/api/v1/alarms/${enc(b.dataset.ack)}/acknowledge`, {});
    if (b.dataset.open) open(b.dataset.open);
    if (b.dataset.page) {
      page.offset = Math.max(0, page.offset + Number(b.dataset.page) * PAGE);
      duty.refresh();
    }
  });
  $("alarm-list").addEventListener("change", e => {
    const box = e.target.closest("input.pick");
    if (!box) return;
    if (box.checked) selected.add(box.dataset.id); else selected.delete(box.dataset.id);
    bulkBar();
  });
  $("select-page").addEventListener("change", e => {
    for (const a of page.rows.filter(acknowledgeable)) {
      if (e.target.checked) selected.add(a.id); else selected.delete(a.id);
    }
    document.querySelectorAll("#alarm-list input.pick:not(:disabled)").forEach(b => { b.checked = e.target.checked; });
    bulkBar();
  });
  $("bulk").addEventListener("submit", async e => {
    e.preventDefault();
    if (!selected.size) return;
    const alarms = [...selected];
    const done = await act("/api/v1/alarms/acknowledge", { alarms, note: $("bulk-note").value.trim() || null });
    if (done) {
      sw.toast(t("ac_acked_n", { n: alarms.length }), "ok");
      selected.clear();
      $("bulk-note").value = "";
      bulkBar();
    }
  });
  // A filter change starts again at the first page; typing waits for a pause.
  const again = () => { page.offset = 0; duty.refresh(); };
  let typing = null;
  $("alarm-filters").addEventListener("change", again);
  $("f-q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(again, 300); });
  $("alarm-filters").addEventListener("submit", e => { e.preventDefault(); again(); });
  $("detail-close").onclick = () => { openId = null; $("alarm-detail").hidden = true; duty.refresh(); };

  $("shelve-form").addEventListener("submit", async e => {
    e.preventDefault();
    const a = openAlarm, reason = reasonOf("shelve-reason");
    if (!a || !reason) return;
    const minutes = Number($("shelve-minutes").value);
    if (!await ask(t("ac_confirm_shelve", { alarm: name(a.id), d: chosen("shelve-minutes"), reason }))) return;
    if (await act(`/api/v1/alarms/${enc(a.id)}/shelve`, { reason, minutes })) $("shelve-reason").value = "";
  });
  $("unshelve-go").onclick = () => openAlarm && act(`/api/v1/alarms/${enc(openAlarm.id)}/unshelve`, {});
  $("suppress-form").addEventListener("submit", async e => {
    e.preventDefault();
    const a = openAlarm, reason = reasonOf("suppress-reason");
    if (!a || !reason) return;
    const kind = $("suppress-scope").value, minutes = Number($("suppress-minutes").value);
    const d = devices.find(x => x.id === a.device) || {};
    const scope = kind === "site" ? { type: "site" } : { type: kind, id: kind === "unit" ? d.unit : a.device };
    if (!await ask(t("ac_confirm_suppress", { scope: chosen("suppress-scope"), d: chosen("suppress-minutes"), reason }))) return;
    if (await act("/api/v1/alarms/suppress", { scope, reason, minutes })) $("suppress-reason").value = "";
  });
  $("oos-form").addEventListener("submit", async e => {
    e.preventDefault();
    const a = openAlarm, reason = reasonOf("oos-reason");
    if (!a || !reason) return;
    if (!await ask(t("ac_confirm_oos", { alarm: name(a.id), reason }))) return;
    if (await act("/api/v1/alarms/commands", { command: "set_out_of_service", alarm: a.id, reason })) $("oos-reason").value = "";
  });
  $("rts-go").onclick = () => openAlarm && act("/api/v1/alarms/commands", { command: "return_to_service", alarm: openAlarm.id });

  // ---- sound: a tone every 2 s while a new high or emergency alarm is unacknowledged ---
  // Browsers play sound only after a click on the page: the page asks for one on load.
  const sound = (() => {
    let ctx = null, timer = null, ringing = [];
    const silenced = new Set();
    const key = a => `${a.id}@${a.raised_at}`;
    function tone() {
      if (!ctx) return;
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.type = "square";
      o.frequency.setValueAtTime(880, ctx.currentTime);
      o.frequency.setValueAtTime(660, ctx.currentTime + 0.25);
      g.gain.value = 0.15;
      o.connect(g).connect(ctx.destination);
      o.start();
      o.stop(ctx.currentTime + 0.5);
      document.body.dataset.tones = Number(document.body.dataset.tones || 0) + 1;
    }
    function show() {
      const on = !!ctx, ring = on && ringing.length > 0;
      $("sound-ask").hidden = on;
      $("sound-silence").hidden = !ring;
      $("sound-state").textContent = !on ? "" : ring ? t("snd_ringing", { n: ringing.length })
        : silenced.size ? t("snd_silenced") : t("snd_on");
      $("sound").classList.toggle("ringing", ring);
      document.body.dataset.ringing = ring ? "1" : "";
      if (ring && !timer) { tone(); timer = setInterval(tone, 2000); }
      if (!ring && timer) { clearInterval(timer); timer = null; }
    }
    function update(alarms) {
      ringing = alarms.filter(a => acknowledgeable(a) && (a.priority === "emergency" || a.priority === "high"))
        .map(key).filter(k => !silenced.has(k));
      show();
    }
    $("sound-on").onclick = () => {
      ctx = new (window.AudioContext || window.webkitAudioContext)();
      ctx.resume();
      show();
    };
    $("sound-silence").onclick = () => { ringing.forEach(k => silenced.add(k)); ringing = []; show(); };
    return { update };
  })();

  // `/?alarm={id}#alarms` (the site plan's link) opens that alarm's detail.
  const wanted = new URLSearchParams(location.search).get("alarm");
  if (wanted) open(wanted).catch(() => {});

  return { standing, draw, name, deviceName, open, text, title, alarmed: p => alarmedPoints.has(p) };
})();
