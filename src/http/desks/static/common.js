// What every desk page shares (`sw`): the catalogue's strings, site time, durations,
// API calls, patching the page in place, and the honesty rules: a banner when the server
// cannot be reached or the live stream stalls for more than 5 s, with the page greyed.
"use strict";
const sw = (() => {
  const meta = n => document.querySelector(`meta[name="${n}"]`)?.content || "";
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  const locale = lang === "zh" ? "zh-CN" : "en-GB";
  const tz = meta("timezone") || "Asia/Shanghai";

  /// The catalogue's string for `key`, with `{name}` filled from `vars`.
  const t = (key, vars) => {
    let s = strings[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split(`{${k}}`).join(v);
    return s;
  };
  /// A code shown through its prefix (`rs_` + a request state).
  const tp = (prefix, code) => t(prefix + code);
  const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  // Times in the site's zone, whatever the browser's own is.
  const fmt = new Intl.DateTimeFormat(locale, { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  const fmtClock = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const time = s => s ? fmt.format(new Date(s)) : "—";
  const clock = d => fmtClock.format(d);
  /// The site's wall-clock parts of an instant.
  const parts = ms => Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .formatToParts(new Date(ms)).filter(p => p.type !== "literal").map(p => [p.type, Number(p.value)]));
  /// A `datetime-local` value read as site time, as an ISO instant.
  const fromLocal = v => {
    if (!v) return null;
    const [d, hm] = v.split("T"), [y, mo, da] = d.split("-").map(Number), [h, mi] = hm.split(":").map(Number);
    const guess = Date.UTC(y, mo - 1, da, h, mi);
    const p = parts(guess), seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    return new Date(guess - (seen - guess)).toISOString();
  };
  /// An instant as a `datetime-local` value in site time.
  const toLocal = ms => {
    const p = parts(ms), two = n => String(n).padStart(2, "0");
    return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
  };
  /// Seconds as "11 小时 59 分" / "2 d 23 h": the two largest units, never "4319:52".
  const dur = secs => {
    const s = Math.max(0, Math.floor(Math.abs(secs)));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return t("d_days", { d, h });
    if (h) return t("d_hours", { h, m });
    if (m) return t("d_minutes", { m, s: s % 60 });
    return t("d_seconds", { s });
  };

  /// A message at the foot of the page: a refusal (red), or with `kind` "ok" a success.
  const toast = (msg, kind) => {
    const el = document.getElementById("toast");
    el.textContent = msg; el.hidden = false;
    el.className = kind === "ok" ? "ok" : "";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
  };
  /// A refusal in the page's words, from the stable error body: its `code` (and `field`,
  /// `missing`) through the catalogue; the server's English only for a code the catalogue
  /// does not know. The one place every desk turns a refusal into words.
  const has = key => Object.prototype.hasOwnProperty.call(strings, key);
  const refusal = (body, status) => {
    const b = body || {}, code = b.code || "";
    if (code === "missing_records" && Array.isArray(b.missing)) {
      const items = b.missing.map(m => { const k = "miss_" + String(m).replace(/[^a-z]+/g, "_"); return has(k) ? t(k) : m; });
      return t("err_missing_records", { items: items.join(t("list_sep")) });
    }
    if (code === "invalid" && b.field && has("fld_" + b.field)) return t("err_invalid_field", { field: t("fld_" + b.field) });
    if (has("err_" + code)) return t("err_" + code);
    return b.message || String(status || "");
  };
  const get = async url => {
    const r = await fetch(url);
    if (r.status === 401) location.href = "/login";
    if (!r.ok) throw new Error(url + " " + r.status);
    return r.json();
  };
  /// Sends a change; a refusal is shown with the server's reason. Returns the answer's
  /// body, or null when refused.
  const send = async (method, url, body) => {
    const r = await fetch(url, { method, headers: { "content-type": "application/json", "x-csrf-token": meta("csrf-token") }, body: JSON.stringify(body) });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) { toast(t("refused", { why: refusal(answer, r.status) })); return null; }
    return answer;
  };
  const post = (url, body) => send("POST", url, body);

  // Signed in, the server knows who acts; in open mode ask once and remember.
  const me = meta("user");
  const actor = () => me || localStorage.getItem("actor") || (() => {
    const a = (prompt(t("who")) || "").trim();
    if (a) localStorage.setItem("actor", a);
    return a;
  })();

  // Patching: the new HTML is laid over the old nodes, keeping every node that is still
  // there (matched by `data-key`, else `id`, else position), so a redraw never swaps the
  // button under a pointer or the field being typed in.
  const keyOf = n => n.nodeType === 1 ? (n.getAttribute("data-key") || n.id || "") : "";
  const formField = n => n.nodeType === 1 && /^(INPUT|TEXTAREA|SELECT)$/.test(n.nodeName);
  function morph(from, to) {
    if (from.nodeType !== 1) {
      if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
      return;
    }
    // A fold the person opened (`<details open>`) stays open through a redraw.
    const kept = a => a.name === "open" && from.nodeName === "DETAILS";
    for (const a of [...from.attributes]) if (!to.hasAttribute(a.name) && !kept(a)) from.removeAttribute(a.name);
    for (const a of to.attributes) {
      if (formField(from) && a.name === "value") continue;
      if (from.getAttribute(a.name) !== a.value) from.setAttribute(a.name, a.value);
    }
    if (from.nodeName === "TEXTAREA" || from.nodeName === "INPUT") return;
    const value = from.nodeName === "SELECT" ? from.value : null;
    morphChildren(from, to);
    if (value !== null && [...from.options].some(o => o.value === value)) from.value = value;
  }
  function morphChildren(from, to) {
    const old = [...from.childNodes];
    const keyed = new Map(old.filter(keyOf).map(n => [keyOf(n), n]));
    const loose = old.filter(n => !keyOf(n));
    let p = 0, i = 0;
    for (const y of [...to.childNodes]) {
      const k = keyOf(y);
      let x = k ? keyed.get(k) : null;
      if (x && x.nodeName !== y.nodeName) x = null;
      if (!k) {
        while (p < loose.length && loose[p].nodeName !== y.nodeName) p++;
        x = p < loose.length ? loose[p++] : null;
      }
      if (x) { keyed.delete(k); morph(x, y); } else x = y;
      const at = from.childNodes[i];
      if (at !== x) from.insertBefore(x, at || null);
      i++;
    }
    while (from.childNodes.length > i) from.removeChild(from.lastChild);
  }
  const drawn = new Map();
  /// Shows `html` in `el` (an element or id), touching only what changed.
  const patch = (el, html) => {
    if (typeof el === "string") el = document.getElementById(el);
    if (!el || drawn.get(el) === html) return;
    drawn.set(el, html);
    const next = document.createElement(el.nodeName);
    next.innerHTML = html;
    morphChildren(el, next);
  };

  // The live connection: events of `kinds` go to `onEvent`; a heartbeat every 2 s says
  // the stream is alive. Nothing heard for 5 s, or no connection: the banner, page grey.
  const STALL_MS = 5000;
  let lastHeard = Date.now(), source = null, lastGood = Date.now();
  const live = (kinds, onEvent) => {
    source = new EventSource(`/api/v1/stream?kinds=${kinds.join(",")}&heartbeat=2`);
    const heard = () => { lastHeard = Date.now(); };
    source.addEventListener("heartbeat", heard);
    source.onopen = heard;
    for (const k of kinds.concat(["reload"])) source.addEventListener(k, e => { heard(); onEvent(k, e); });
  };
  // A page left for another may be kept (back/forward cache) with its stream open; the
  // browser allows six connections to a host, so a few such pages would starve the next.
  addEventListener("pagehide", () => { if (source) source.close(); });
  addEventListener("pageshow", e => { if (e.persisted) location.reload(); });
  /// A request answered: the page's values are as of now.
  const fresh = () => { lastGood = Date.now(); };
  function watch() {
    const now = Date.now();
    const down = source && (source.readyState !== EventSource.OPEN || now - lastHeard > STALL_MS);
    const el = document.getElementById("offline");
    if (down) {
      const since = Math.min(lastHeard, lastGood), age = dur((now - since) / 1000);
      const key = source.readyState === EventSource.OPEN ? "stalled_banner" : "offline_banner";
      el.textContent = t(key, { time: clock(new Date(since)), age });
    }
    el.hidden = !down;
    document.body.classList.toggle("stale", !!down);
    const status = document.getElementById("status");
    status.textContent = down ? t("offline") : t("updated", { time: clock(new Date(lastGood)) });
  }
  setInterval(watch, 1000);

  // The storage banner: the write path as /readyz reports it, asked every 5 s.
  async function storage() {
    const el = document.getElementById("storage");
    try {
      const w = (await (await fetch("/readyz")).json()).writes || {};
      const sum = o => Object.values(o || {}).reduce((a, b) => a + b, 0);
      const msg = w.dropping ? t("store_dropping", { n: sum(w.dropped) })
        : w.ok === false ? t("store_failing", { n: sum(w.backlog) }) : "";
      el.textContent = msg;
      el.hidden = !msg;
    } catch (e) { /* the offline banner already says the server is out of reach */ }
  }
  storage();
  setInterval(storage, 5000);

  // Header: language (a cookie the server renders the page in) and log-out.
  document.getElementById("lang").onclick = () => {
    document.cookie = `lang=${lang === "zh" ? "en" : "zh"}; path=/; max-age=31536000; samesite=lax`;
    location.reload();
  };
  document.getElementById("logout").onclick = async () => {
    await fetch("/logout", { method: "POST", headers: { "x-csrf-token": meta("csrf-token") } });
    location.href = "/login";
  };
  const meEl = document.getElementById("me");
  if (!me) meEl.textContent = localStorage.getItem("actor") || "";

  // An incident an alarm opened carries the alarm's English message as its title: the zh
  // page shows the alarm's zh message instead. `learnTitles` asks for the alarms of a list
  // (once each); `incidentTitle` is the title in the page's language.
  const alarmsSeen = {};
  const learnTitles = incidents => Promise.all((incidents || [])
    .map(i => i.source && i.source.alarm).filter(id => id && lang === "zh" && !(id in alarmsSeen))
    .map(id => { alarmsSeen[id] = null; return get(`/api/v1/alarms/${encodeURIComponent(id)}`).then(a => { alarmsSeen[id] = a; }).catch(() => {}); }));
  const incidentTitle = i => {
    const a = i.source && alarmsSeen[i.source.alarm];
    return a && a.message_zh && a.message === i.title ? a.message_zh : i.title;
  };

  // Date and time entry: a text field in one fixed form, `YYYY-MM-DD HH:MM`, read in the
  // site's zone, the same in both languages and on any browser (a `datetime-local` field
  // shows Chromium's locale's order and means the phone's zone, not the page's and the site's).
  const DATE_FORM = /^(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})$/;
  const pad2 = n => String(n).padStart(2, "0");
  /// An instant as the date field shows it: site time, `2026-11-24 08:00`.
  const showDate = ms => toLocal(ms).replace("T", " ");
  /// A typed date as an ISO instant (site time): "" is null, anything not a real date
  /// and time in the fixed form is undefined.
  const readDate = text => {
    const v = String(text || "").trim();
    if (!v) return null;
    const m = v.match(DATE_FORM);
    if (!m) return undefined;
    const [y, mo, d, h, mi] = m.slice(1).map(Number);
    const day = new Date(Date.UTC(y, mo - 1, d));
    if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59) return undefined;
    return fromLocal(`${y}-${pad2(mo)}-${pad2(d)}T${pad2(h)}:${pad2(mi)}`);
  };
  /// The attributes of a date field (an `<input>` of type text).
  const dateAttrs = () => `inputmode="numeric" autocomplete="off" placeholder="${esc(t("date_example"))}" title="${esc(t("date_format"))}" data-date`;
  /// Reads date field `el` as an ISO instant; a bad one is marked, said next to the
  /// field and in a toast, and the answer is undefined (send nothing).
  const dateOf = el => {
    const at = readDate(el.value);
    const wrong = at === undefined || (at === null && el.required);
    el.setCustomValidity(wrong ? t("bad_date", { format: t("date_format") }) : "");
    el.classList.toggle("invalid", wrong);
    if (wrong) { el.reportValidity(); toast(t("bad_date_field", { format: t("date_format"), field: el.closest("label")?.firstChild?.textContent?.trim() || "" })); }
    return wrong ? undefined : at;
  };
  // A mark goes as soon as the field is edited.
  document.addEventListener("input", e => {
    if (e.target.matches?.("input[data-date]")) { e.target.setCustomValidity(""); e.target.classList.remove("invalid"); }
  });

  return { lang, locale, t, tp, esc, refusal, learnTitles, incidentTitle, time, clock, dur, fromLocal, toLocal, showDate, readDate, dateAttrs, dateOf, get, post, send, toast, meta, me, actor, patch, live, fresh, siteName: meta("site") };
})();
