// The site panel of the fleet page: a site's open alarms and incidents (from its snapshots
// at the centre) with Acknowledge and Dispatch for duty engineers and admins, and the
// commands the centre sent it, newest first. Each command's outcome is said in words in
// the page's language; times are in the site's zone.
(() => {
  "use strict";
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  const locale = lang === "zh" ? "zh-CN" : "en-GB";
  const meta = name => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const mayCommand = meta("commands") === "true";
  const t = (key, vars = {}) =>
    (strings[key] || key).replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
  const esc = s => String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const panel = document.getElementById("detail");
  let current = null; // { site, name, tz }

  // One fixed form, YYYY-MM-DD HH:MM:SS in the site's zone, as on the site's pages.
  const at = ms => { const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: current.tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms)).map(x => [x.type, x.value])); return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second; }
  const api = path => `/api/v1/sites/${encodeURIComponent(current.site)}${path}`;

  async function getJson(path) {
    const resp = await fetch(api(path), { headers: { accept: "application/json" } });
    if (resp.status === 401) { location.href = "/login"; throw new Error("signed out"); }
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    return resp.json();
  }

  // What a command's answer means, in words.
  function said(status, body) {
    if (status === 200 && body.outcome === "applied") return ["ok", t("r_applied")];
    if (body.error === "not_delivered") return ["bad", t(body.reason === "timeout" ? "r_timeout" : "r_not_delivered")];
    if (body.outcome === "unavailable") return ["bad", t("r_unavailable")];
    if (body.outcome === "refused") return ["bad", t("r_refused", { reason: body.message || body.code })];
    return ["bad", t("r_error", { reason: body.message || body.code || `HTTP ${status}` })];
  }

  async function send(form, path, body) {
    const out = form.querySelector(".result");
    out.className = "result";
    out.textContent = t("sending");
    form.querySelectorAll("button, input").forEach(e => { e.disabled = true; });
    let status = 0, answer = {};
    try {
      const resp = await fetch(api(path), {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": meta("csrf-token") },
        body: JSON.stringify(body),
      });
      status = resp.status;
      answer = await resp.json().catch(() => ({}));
    } catch (e) {
      answer = { message: String(e) };
    }
    const [cls, text] = said(status, answer);
    out.className = `result ${cls}`;
    out.textContent = text;
    if (cls === "ok") {
      // Done: the item's new state, and nothing more to send from this form.
      form.parentElement.querySelector(".state").textContent = t(form.dataset.alarm ? "s_ack_active" : "i_dispatched");
      form.querySelectorAll("button, input").forEach(e => { e.hidden = true; });
    } else {
      form.querySelectorAll("button, input").forEach(e => { e.disabled = false; });
    }
    loadCommands();
  }

  function alarmItem(a) {
    const text = lang === "zh" && a.message_zh ? a.message_zh : a.message;
    // Only an unacknowledged alarm can be acknowledged.
    const form = mayCommand && a.state.startsWith("unack") ? `<form class="act" data-alarm="${esc(a.id)}">
        <input name="comment" placeholder="${esc(t("comment_ph"))}" aria-label="${esc(t("comment_ph"))}">
        <button type="submit">${esc(t("ack"))}</button><span class="result" role="status"></span></form>` : "";
    const when = a.raised_at ? `<small>${esc(at(Date.parse(a.raised_at)))}</small>` : "";
    return `<li data-alarm="${esc(a.id)}"><span class="badge p-${esc(a.priority)}">${esc(t("p_" + a.priority))}</span>
      <strong>${esc(text || a.id)}</strong> <span class="state">${esc(t("s_" + a.state))}</span>${when}<small>${esc(a.id)}</small>${form}</li>`;
  }

  function incidentItem(i) {
    const form = mayCommand && i.state === "reported" ? `<form class="act" data-incident="${esc(i.id)}">
        <input name="to" placeholder="${esc(t("to_ph"))}" aria-label="${esc(t("to_ph"))}">
        <button type="submit">${esc(t("dispatch"))}</button><span class="result" role="status"></span></form>` : "";
    return `<li data-incident="${esc(i.id)}"><strong>#${esc(i.id)} ${esc(i.title)}</strong> <span class="state">${esc(t("i_" + i.state))}</span>
      <small>${esc(i.location || "")} · ${esc(at(Date.parse(i.reported_at)))}</small>${form}</li>`;
  }

  function actionText(a) {
    if (a.type === "acknowledge") return t("a_acknowledge", { alarm: a.alarm });
    if (a.type === "dispatch") return t("a_dispatch", { incident: a.incident, to: a.to });
    return a.type;
  }

  async function loadCommands() {
    const box = document.getElementById("detail-commands");
    try {
      const rows = await getJson("/commands");
      box.innerHTML = rows.length ? rows.map(c => `<tr data-command="${esc(c.command_id)}">
        <td data-label="${esc(t("c_time"))}">${esc(at(c.sent_ms))}</td>
        <td data-label="${esc(t("c_operator"))}">${esc(c.operator)}</td>
        <td data-label="${esc(t("c_action"))}">${esc(actionText(c.action))}</td>
        <td data-label="${esc(t("c_outcome"))}" class="o-${esc(c.outcome)}">${esc(t("o_" + c.outcome))}${c.code ? ` <small>${esc(c.code)}</small>` : ""}</td></tr>`).join("")
        : `<tr><td colspan="4" class="empty">${esc(t("none"))}</td></tr>`;
    } catch (e) {
      box.innerHTML = `<tr><td colspan="4" class="empty">${esc(t("r_error", { reason: e.message }))}</td></tr>`;
    }
  }

  async function loadOpen() {
    const alarms = document.getElementById("detail-alarms");
    const incidents = document.getElementById("detail-incidents");
    try {
      const open = await getJson("/open");
      alarms.innerHTML = open.alarms.length ? open.alarms.map(alarmItem).join("") : `<li class="empty">${esc(t("none"))}</li>`;
      incidents.innerHTML = open.incidents.length ? open.incidents.map(incidentItem).join("") : `<li class="empty">${esc(t("none"))}</li>`;
    } catch (e) {
      alarms.innerHTML = `<li class="empty">${esc(t("r_error", { reason: e.message }))}</li>`;
      incidents.innerHTML = "";
    }
  }

  function open(site, name, tz) {
    current = { site, name, tz };
    document.getElementById("detail-title").textContent = t("detail_title", { name });
    document.getElementById("detail-readonly").hidden = mayCommand;
    panel.hidden = false;
    document.body.classList.add("with-detail");
    loadOpen();
    loadCommands();
  }

  document.addEventListener("click", e => {
    const b = e.target.closest("button.open-detail");
    if (b) open(b.dataset.site, b.dataset.name, b.dataset.tz);
  });
  document.getElementById("detail-close").onclick = () => {
    panel.hidden = true;
    current = null;
    document.body.classList.remove("with-detail");
  };
  panel.addEventListener("submit", e => {
    e.preventDefault();
    const form = e.target;
    if (form.dataset.alarm) {
      const comment = form.elements.comment.value.trim();
      send(form, `/alarms/${encodeURIComponent(form.dataset.alarm)}/ack`, comment ? { comment } : {});
    } else if (form.dataset.incident) {
      const to = form.elements.to.value.trim();
      if (!to) { form.querySelector(".result").textContent = t("to_required"); return; }
      send(form, `/incidents/${encodeURIComponent(form.dataset.incident)}/dispatch`, { to });
    }
  });
})();
