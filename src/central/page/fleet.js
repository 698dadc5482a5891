// The fleet page: one row per site from GET /api/v1/fleet, polled every 5 s. Every string
// comes from the page's catalogue table (zh-CN or English, by the `lang` cookie); times
// are shown in each site's own zone.
(() => {
  "use strict";
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  const locale = lang === "zh" ? "zh-CN" : "en-GB";
  const POLL_MS = 5000;
  const t = (key, vars = {}) =>
    (strings[key] || key).replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
  const esc = s => String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // One fixed form, YYYY-MM-DD HH:MM in the site's zone, as on the site's pages (not the browser locale's).
  const at = (ms, tz) => { const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms)).map(x => [x.type, x.value])); return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute; }
  const dur = s => {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) return t("d_days", { d, h });
    if (h > 0) return t("d_hours", { h, m });
    if (m > 0) return t("d_minutes", { m });
    return t("d_seconds", { s: Math.floor(s) });
  };
  const pct = r => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`);
  const PRIORITIES = ["emergency", "high", "medium", "low"];
  // One cell; its content in one box, so the narrow layout's label and value stay a pair.
  const cell = (label, cls, html) => `<td data-label="${esc(label)}" class="${cls}"><div>${html}</div></td>`;

  function siteCell(r) {
    const name = r.url ? `<a href="${esc(r.url)}" title="${esc(t("open_site"))}">${esc(r.name)}</a>` : esc(r.name);
    return cell(t("col_site"), "site", `<strong class="name">${name}</strong>
      <small class="site-time">${esc(t("site_time", { time: r.site_time }))} · ${esc(r.timezone)}</small>
      <button type="button" class="open-detail" data-site="${esc(r.site)}" data-name="${esc(r.name)}" data-tz="${esc(r.timezone)}">${esc(t("details"))}</button>`);
  }

  function linkCell(r) {
    const l = r.link;
    let state = `<span class="badge up">${esc(t("link_up"))}</span>`;
    if (l.down) state = `<span class="badge down">${esc(t(l.last_received_ms ? "link_down" : "link_never"))}</span>`;
    const lines = [state];
    if (l.down && l.down_since_ms) lines.push(`<small>${esc(t("down_since", { time: at(l.down_since_ms, r.timezone) }))}</small>`);
    if (l.last_received_ms) {
      const backlog = l.backlog == null ? "" : ` · ${esc(t("backlog", { n: l.backlog }))}`;
      lines.push(`<small>${esc(t("last_record", { ago: dur(l.silent_s) }))} · ${esc(t("lag", { d: dur(l.lag_s) }))}${backlog}</small>`);
    }
    return cell(t("col_link"), "link", lines.join(" "));
  }

  function alarmsCell(r) {
    const chips = PRIORITIES.filter(p => r.open_alarms[p] > 0)
      .map(p => `<span class="badge p-${p}">${esc(t("p_" + p))} ${r.open_alarms[p]}</span>`);
    const other = Object.keys(r.open_alarms).filter(p => !PRIORITIES.includes(p))
      .map(p => `<span class="badge">${esc(p)} ${r.open_alarms[p]}</span>`);
    const all = chips.concat(other);
    return cell(t("col_alarms"), "alarms", all.length ? all.join(" ") : `<span class="quiet">${esc(t("none"))}</span>`);
  }

  function countCell(label, key, open, bad, cls) {
    const text = open === 0 ? `<span class="quiet">${esc(t("none"))}</span>` : esc(t(key, { open, bad }));
    return cell(label, cls + (bad > 0 ? " bad" : ""), text);
  }

  function patrolCell(r) {
    const p = r.patrol;
    const text = p.of === 0 ? `<span class="quiet">–</span>` : `${pct(p.ratio)} <small>${esc(t("n_of", p))}</small>`;
    return cell(t("col_patrol"), "patrol", text);
  }

  function kpisCell(r) {
    const items = r.kpis.map(k => {
      const cls = k.met === false ? "miss" : k.met === true ? "met" : "";
      return `<span class="kpi ${cls}" data-kpi="${esc(k.name)}"><small>${esc(t("k_" + k.name))}</small> ${pct(k.ratio)} <small>${esc(t("n_of", k))}</small></span>`;
    });
    return cell(t("col_kpis"), "kpis", `<div class="kpi-list">${items.join("")}</div>`);
  }

  function row(r) {
    return `<tr data-site="${esc(r.site)}" class="${r.link.down ? "down-row" : ""}">${siteCell(r)}${linkCell(r)}${alarmsCell(r)}${countCell(t("col_incidents"), "open_breached", r.incidents_open, r.incidents_breached, "incidents")}${countCell(t("col_requests"), "open_overdue", r.requests_open, r.requests_overdue, "requests")}${patrolCell(r)}${kpisCell(r)}</tr>`;
  }

  let lastGood = null;
  async function refresh() {
    try {
      const resp = await fetch("/api/v1/fleet", { headers: { accept: "application/json" } });
      if (resp.status === 401) { location.href = "/login"; return; }
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const rows = await resp.json();
      document.getElementById("rows").innerHTML = rows.length
        ? rows.map(row).join("")
        : `<tr><td colspan="7" class="empty">${esc(t("no_sites"))}</td></tr>`;
      const down = rows.filter(r => r.link.down).length;
      const summary = document.getElementById("summary");
      summary.textContent = t("summary", { n: rows.length, down });
      summary.className = down > 0 ? "badge down" : "badge up";
      lastGood = new Date();
      document.getElementById("status").textContent = t("updated", { time: lastGood.toLocaleTimeString(locale, { hour12: false }) });
      document.getElementById("offline").hidden = true;
      document.body.classList.remove("stale");
    } catch (e) {
      const banner = document.getElementById("offline");
      banner.textContent = t("offline", { time: lastGood ? lastGood.toLocaleTimeString(locale, { hour12: false }) : "–" });
      banner.hidden = false;
      document.body.classList.add("stale");
    }
  }

  document.getElementById("lang").onclick = () => {
    document.cookie = `lang=${lang === "zh" ? "en" : "zh"}; path=/; max-age=31536000; samesite=lax`;
    location.reload();
  };
  refresh();
  setInterval(refresh, POLL_MS);
})();
