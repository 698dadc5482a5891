// The duty desk's plant tab: every device grouped by building (the units register's) and
// system (the profile's), each point named and its states worded in the page's language
// from its profile, a search over names, sparklines of the last hour, and a chart of any
// point's history over a window (1 h, 24 h, 7 d, 30 d, or from–to) drawn by the server
// (`/api/v1/points/{id}/chart`, the alarm detail's chart).
"use strict";
const dutyPlant = (() => {
  const { t, esc } = sw;
  const HOUR = 3600e3;

  // The system a profile belongs to; a site's own profile falls under "other".
  const SYSTEMS = {
    eastron_sdm630: "power", abb_acs580: "water", aquaread_leveline_ctd: "water",
    tuf_2000m: "water", zigbee_water_leak: "water", fire_panel_gateway: "fire",
    zigbee_door_contact: "security",
  };
  const systemOf = d => SYSTEMS[d.profile] || "other";

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
  const spark = { series: {}, es: null };
  const numeric = p => !p.states || !Object.keys(p.states).length;

  function sparkAdd(id, at, value) {
    const s = spark.series[id] || (spark.series[id] = []);
    if (s.length && s[s.length - 1][0] >= at) return;
    s.push([at, value]);
    while (s[0][0] < at - HOUR) s.shift();
  }

  function follow(points) {
    if (spark.es) return;
    spark.series = {};
    spark.es = new EventSource("/api/v1/stream?kinds=point&samples=recorded");
    spark.es.addEventListener("point", e => {
      const s = JSON.parse(e.data);
      if (s.kind === "sample") sparkAdd(s.point, Date.parse(s.at), s.value);
    });
    const ids = points.filter(numeric).map(p => encodeURIComponent(p.id));
    if (!ids.length) return;
    sw.get(`/api/v1/readings?points=${ids.join(",")}`).then(r => {
      for (const [id, rows] of Object.entries(r.points)) {
        const history = rows.map(x => [Date.parse(x.at), x.value]);
        const last = history.length ? history[history.length - 1][0] : -Infinity;
        spark.series[id] = history.concat((spark.series[id] || []).filter(x => x[0] > last));
      }
      duty.refresh();
    }).catch(() => {});
  }

  function stop() {
    if (spark.es) spark.es.close();
    spark.es = null;
  }
  addEventListener("pagehide", () => stop());

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

  // ---- the chart of one point ----------------------------------------------------------

  const WINDOWS = { "1h": HOUR, "24h": 24 * HOUR, "7d": 7 * 24 * HOUR, "30d": 30 * 24 * HOUR };
  /// The chart open: the point, the window's name and its ends (fixed when chosen, so the
  /// picture is not fetched again every second).
  const chart = { point: null, win: "24h", from: 0, to: 0 };
  let serverNow = Date.now();

  function choose(win) {
    chart.win = win;
    if (WINDOWS[win]) { chart.to = serverNow; chart.from = serverNow - WINDOWS[win]; }
  }

  function chartCard(points) {
    const p = points.find(x => x.id === chart.point);
    if (!p) return "";
    const src = `/api/v1/points/${encodeURIComponent(p.id)}/chart?from=${new Date(chart.from).toISOString()}&to=${new Date(chart.to).toISOString()}`;
    const wins = Object.keys(WINDOWS).concat(["custom"]).map(w =>
      `<button type="button" data-win="${w}" class="${chart.win === w ? "primary" : ""}">${t("pl_win_" + w)}</button>`).join("");
    const custom = chart.win === "custom" ? `<form class="inline" id="pl-custom">
        ${dateField("pl-from", t("pl_from"), chart.from)}${dateField("pl-to", t("pl_to"), chart.to)}
        <button type="submit" class="primary">${t("pl_show")}</button></form>` : "";
    return `<div class="detail" id="pl-chart-card" data-key="chart"><h2>${esc(pointName(p))} <small>${esc(p.unit)}</small>
        <button type="button" id="pl-chart-close">${t("ac_close")}</button></h2>
      <div class="actions" id="pl-windows">${wins}</div>${custom}
      <figure class="chart"><figcaption>${sw.time(new Date(chart.from))} – ${sw.time(new Date(chart.to))}</figcaption>
      <img id="pl-chart" src="${esc(src)}" alt="${t("ac_chart")}"></figure></div>`;
  }

  // A date and time typed in the page's own order (zh 2026/11/24 08:00, en 24/11/2026
  // 08:00), whatever the browser's locale, in site time; the calendar button opens the
  // browser's picker, whose answer is written back in the page's order.
  const two = n => String(n).padStart(2, "0");
  function showDate(ms) {
    const [d, hm] = sw.toLocal(ms).split("T"), [y, m, day] = d.split("-");
    return (sw.lang === "zh" ? `${y}/${m}/${day}` : `${day}/${m}/${y}`) + " " + hm;
  }
  function readDate(text) {
    const m = String(text).trim().match(/^(\d{1,4})\/(\d{1,2})\/(\d{1,4})\s+(\d{1,2}):(\d{2})$/);
    if (!m) return NaN;
    const [y, mo, d] = sw.lang === "zh" ? [m[1], m[2], m[3]] : [m[3], m[2], m[1]];
    return Date.parse(sw.fromLocal(`${y}-${two(mo)}-${two(d)}T${two(m[4])}:${m[5]}`));
  }
  const dateField = (id, label, ms) => `<label>${label}<span class="date-field">
      <input id="${id}" inputmode="numeric" value="${showDate(ms)}" placeholder="${t("pl_date_format")}" aria-label="${label}" autocomplete="off">
      <button type="button" data-pick="${id}">${t("pl_pick_date")}</button>
      <input type="datetime-local" class="picker" data-for="${id}" tabindex="-1" aria-hidden="true"></span></label>`;

  // ---- the tab -------------------------------------------------------------------------

  function deviceCard(d, points, now) {
    const rows = points.map(p => `
      <tr data-point="${esc(p.id)}" data-key="p:${esc(p.id)}" class="q-${esc(p.quality)}${chart.point === p.id ? " open" : ""}">
        <td title="${esc(p.id)} · ${esc(p.description)}"><button type="button" class="link" data-chart="${esc(p.id)}">${esc(pointName(p))}</button></td>
        <td class="value${dutyAlarms.alarmed(p.id) ? " s-red" : ""}">${fmt(p)}</td><td class="spark">${sparkline(p, now)}</td><td class="unit">${esc(p.unit)}</td>
        <td class="quality">${esc(t(p.quality))}</td>
        <td class="age">${p.age_seconds === null ? "—" : p.age_seconds.toFixed(1) + " " + t("s_ago")}</td>
      </tr>`).join("");
    return `<div class="card" data-device="${esc(d.id)}" data-key="d:${esc(d.id)}">
      <h2>${esc(d.name)} <span class="badge ${d.up ? "up" : "down"}">${t(d.up ? "up" : "down")}</span>
      <small title="${esc(d.profile)}">${esc(d.address)}${d.unit_id == null ? '' : ' #' + d.unit_id}</small></h2>
      <table><thead><tr><th>${t("point")}</th><th>${t("value")}</th><th class="spark">${t("trend")}</th><th>${t("unit")}</th><th class="quality">${t("quality")}</th><th>${t("age")}</th></tr></thead>
      <tbody>${rows}</tbody></table></div>`;
  }

  /// Whether the search words all appear in the point's or its device's names.
  function matches(q, d, p) {
    if (!q) return true;
    const hay = [d.name, d.id, d.building, pointName(p), p.name, p.description].join(" ").toLowerCase();
    return q.toLowerCase().split(/\s+/).every(w => hay.includes(w));
  }

  function render(devices, points, now) {
    const q = (document.getElementById("pl-q")?.value || "").trim();
    const groups = new Map();
    for (const d of devices) {
      const mine = points.filter(p => p.device === d.id && matches(q, d, p));
      if (!mine.length) continue;
      const key = `${d.building || ""}\u0000${systemOf(d)}`;
      if (!groups.has(key)) groups.set(key, { building: d.building, system: systemOf(d), cards: [] });
      groups.get(key).cards.push(deviceCard(d, mine, now));
    }
    const sorted = [...groups.values()].sort((a, b) => (a.building || "\uffff").localeCompare(b.building || "\uffff") || a.system.localeCompare(b.system));
    const body = sorted.map(g => `<section class="pl-group" data-key="g:${esc(g.building || "")}:${g.system}">
        <h2 class="pl-head">${esc(g.building ? t("pl_building", { b: g.building }) : t("pl_no_building"))} · ${t("sys_" + g.system)}</h2>
        ${g.cards.join("")}</section>`).join("");
    const bar = `<form class="card filters" id="pl-search" role="search" data-key="search">
      <input id="pl-q" type="search" placeholder="${t("pl_search")}" aria-label="${t("pl_search")}" autocomplete="off">
      <small>${t("pl_pick")}</small></form>`;
    return bar + chartCard(points) + (body || `<div class="card empty">${t("pl_nothing")}</div>`);
  }

  // ---- the estate's meter gateways (issue 24) -------------------------------------------
  // One card per gateway: meters reading and silent, the last sweep's time, and the
  // meters that did not answer. The meters themselves are not listed: thousands of them
  // are in `/api/v1/meters`.
  const took = secs => secs < 1 ? t("gw_sub_second") : sw.dur(secs);

  function gatewayCard(g) {
    const sweep = g.sweep_seconds == null ? t("gw_no_sweep")
      : t("gw_sweep", { d: took(g.sweep_seconds), at: sw.time(g.swept_at) });
    const silent = g.silent_meters.length
      ? `<p class="gw-silent">${t("gw_silent_list", { ids: esc(g.silent_meters.join(", ")) })}</p>` : "";
    return `<div class="card" data-key="gw:${esc(g.id)}" data-gateway="${esc(g.id)}">
      <h2>${esc(g.name || g.id)} <span class="badge ${g.silent ? "down" : "up"}">${t("gw_silent", { n: g.silent })}</span>
      <small>${esc(g.address)}</small></h2>
      <p>${t("gw_meters", { reading: g.reading, meters: g.meters })} · ${sweep} · ${g.poll_interval_seconds < 1 ? t("gw_every_sub") : t("gw_every", { d: sw.dur(g.poll_interval_seconds) })}</p>
      ${silent}</div>`;
  }

  function gatewaysHtml(gws) {
    if (!gws.length) return "";
    return `<section class="pl-group" data-key="g:gateways"><h2 class="pl-head">${t("gw_title")}</h2>
      ${gws.map(gatewayCard).join("")}</section>`;
  }

  async function html() {
    const [d, p, gws] = await Promise.all([sw.get("/api/v1/devices"), sw.get("/api/v1/points"), sw.get("/api/v1/gateways")]);
    serverNow = Date.parse(p.now);
    follow(p.points);
    return gatewaysHtml(gws) + render(d, p.points, serverNow);
  }

  const panel = document.getElementById("plant");
  panel.addEventListener("click", e => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.chart) {
      chart.point = b.dataset.chart;
      if (chart.win === "custom") chart.win = "24h";
      choose(chart.win);
      duty.refresh();
      document.getElementById("plant").scrollIntoView({ block: "start" });
    } else if (b.dataset.win) { choose(b.dataset.win); duty.refresh(); }
    else if (b.dataset.pick) {
      const picker = panel.querySelector(`input.picker[data-for="${b.dataset.pick}"]`);
      const typed = readDate(document.getElementById(b.dataset.pick).value);
      if (!Number.isNaN(typed)) picker.value = sw.toLocal(typed);
      picker.showPicker?.();
    }
    else if (b.id === "pl-chart-close") { chart.point = null; duty.refresh(); }
  });
  panel.addEventListener("input", e => { if (e.target.id === "pl-q") duty.refresh(); });
  panel.addEventListener("change", e => {
    const into = e.target.classList.contains("picker") && document.getElementById(e.target.dataset.for);
    if (into && e.target.value) into.value = showDate(Date.parse(sw.fromLocal(e.target.value)));
  });
  panel.addEventListener("submit", e => {
    e.preventDefault();
    if (e.target.id !== "pl-custom") return;
    const from = readDate(document.getElementById("pl-from").value);
    const to = readDate(document.getElementById("pl-to").value);
    if (Number.isNaN(from) || Number.isNaN(to)) { sw.toast(t("pl_bad_date", { format: t("pl_date_format") })); return; }
    if (!(to > from)) { sw.toast(t("pl_bad_window")); return; }
    chart.from = from; chart.to = to;
    duty.refresh();
  });

  return { html, stop, fmt };
})();
