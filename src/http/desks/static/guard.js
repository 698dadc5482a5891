// The guard's phone page (保安): the current tour, the next checkpoint and the time
// left; a scan by Web NFC or a typed short code, judged in words; scans queued on the
// phone with their own time while the network or the session is away (a session that
// ends asks for the password here and keeps the queue); a finding with its category, a
// note and a photo from the camera. The server recognises a resent scan by its id and
// judges it at the time it was made.
"use strict";
const $ = id => document.getElementById(id);
const { t, esc } = sw;
const guardInput = $("guard");
// Signed in: the guard is the signed-in user.
guardInput.value = sw.me || localStorage.getItem("guard") || "";
guardInput.readOnly = !!sw.me;
guardInput.onchange = () => { localStorage.setItem("guard", guardInput.value.trim()); showTour(); };
const queue = () => JSON.parse(localStorage.getItem("scanQueue") || "[]");
function saveQueue(q) {
  localStorage.setItem("scanQueue", JSON.stringify(q));
  $("queue").textContent = q.length ? t("g_queued", { n: q.length }) : "";
}
const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(16).slice(2));
const say = (el, text, good) => { $(el).innerHTML = `<span class="${good ? "s-green" : "s-red"}">${esc(text)}</span>`; };
/// A checkpoint or route id made readable (`b1_lobby` → `b1 lobby`).
const place = id => String(id || "—").replace(/_/g, " ");

function enqueue(tag) {
  const guard = guardInput.value.trim();
  if (!guard) { say("result", t("g_name_first"), false); return; }
  const q = queue();
  q.push({ id: uuid(), guard, scanned_at: new Date().toISOString(), ...tag });
  saveQueue(q);
  flush();
}

/// A scan's verdict in words: "ok" said as on time or late, every refusal with its reason.
function verdict(body, status) {
  const r = body.record && body.record.result;
  if (!r) return { text: t("g_refused", { why: sw.refusal(body, status) }), good: false };
  const where = body.record.checkpoint ? ` · ${place(body.record.checkpoint)}` : "";
  const key = r.result === "ok" ? (r.late ? "sv_ok_late" : "sv_ok") : "sv_" + r.result;
  const extra = r.expected ? t("sv_expected", { cp: place(r.expected) }) : r.side ? t("sv_side_" + r.side) : "";
  return { text: t(key) + (extra ? " " + extra : "") + where, good: r.result === "ok" || r.result === "resent" };
}

let flushing = false;
let csrf = sw.meta("csrf-token");
// What a refused send means for the queued scan: only a scan the server itself refuses
// (malformed, 400/422) leaves the queue; any other failure keeps it for the next try.
const refusedForGood = status => status === 400 || status === 422;
async function flush() {
  if (flushing) return; flushing = true;
  try {
    let q = queue();
    while (q.length) {
      const scan = q[0];
      let r;
      try {
        r = await fetch("/api/v1/patrol/scans", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify(scan) });
      } catch (e) { say("result", t("g_offline"), false); break; } // offline: keep the queue
      const body = await r.json().catch(() => ({}));
      if (r.status === 401 || (r.status === 403 && /csrf/i.test(body.message || ""))) { askPassword(); break; }
      if (!r.ok && !refusedForGood(r.status)) { showWaiting(r.status, body); break; }
      sw.fresh();
      const v = verdict(body, r.status);
      say("result", v.text, v.good);
      q = queue().filter(s => s.id !== scan.id);
      saveQueue(q);
    }
  } finally { flushing = false; showTour(); }
}

function showWaiting(status, body) {
  const why = status === 503 ? t("g_unavailable") : sw.refusal(body, status);
  say("result", `${why} · ${t("g_kept")}`, false);
}

// The session ended: ask for the password here, keeping the page and its queue.
function askPassword() {
  const form = $("signin");
  if (!form.hidden) return;
  form.hidden = false;
  if (!$("si-user").value) $("si-user").value = guardInput.value.trim();
  ($("si-user").value ? $("si-password") : $("si-user")).focus();
}
$("signin").onsubmit = async ev => {
  ev.preventDefault();
  const body = new URLSearchParams({ username: $("si-user").value.trim(), password: $("si-password").value });
  let r;
  try {
    r = await fetch("/login", { method: "POST", headers: { accept: "application/json" }, body });
  } catch (e) { $("si-error").textContent = t("g_offline_retry"); return; }
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) { $("si-error").textContent = sw.refusal(answer, r.status); return; }
  csrf = answer.csrf;
  guardInput.value = answer.user;
  $("si-password").value = ""; $("si-error").textContent = "";
  $("signin").hidden = true;
  flush();
};

async function showTour() {
  const guard = guardInput.value.trim();
  if (!guard) return;
  try {
    const r = await fetch(`/api/v1/patrol/next?guard=${encodeURIComponent(guard)}`);
    if (r.status === 401) { askPassword(); return; }
    if (!r.ok) return;
    sw.fresh();
    const p = await r.json();
    if (!p) { sw.patch("tour", `<small>${t("g_no_tour")}</small>`); return; }
    // Time left by the daemon's clock (`now` in the answer), not the phone's, which may
    // be wrong.
    const due = p.next_due_at || p.deadline, left = (Date.parse(due) - Date.parse(p.now)) / 1000;
    const clock = left >= 0 ? `<span class="s-green">${t("left", { d: sw.dur(left) })}</span>` : `<span class="s-red">${t("overdue_by", { d: sw.dur(left) })}</span>`;
    sw.patch("tour", `<div>${t("g_route")} <b>${esc(place(p.route))}</b> · ${t("g_done", { n: p.done, m: p.total })}</div>
      <div class="next">${t("g_next")} <b>${esc(place(p.next))}</b></div>
      <div>${clock} <small>${t("g_due", { time: sw.time(due) })}</small></div>
      ${p.waiting_for_second_guard ? `<div class="s-amber">${t("g_second_guard")}</div>` : ""}`);
  } catch (e) { /* offline: the tour stays as last shown */ }
}

$("send").onclick = () => { const c = $("code").value.trim(); if (c) { enqueue({ short_code: c }); $("code").value = ""; } };
$("code").onkeydown = e => { if (e.key === "Enter") $("send").click(); };
// Web NFC where the browser has it (Chrome on Android); typing the code otherwise.
function setupNfc() {
  if (!("NDEFReader" in window)) {
    $("nfc").disabled = true;
    $("nfc").textContent = t("g_no_nfc");
    return;
  }
  $("nfc").disabled = false;
  $("nfc").textContent = t("g_nfc");
  $("nfc").onclick = async () => {
    try {
      const reader = new NDEFReader();
      await reader.scan();
      reader.onreading = e => enqueue({ tag_uid: e.serialNumber });
      $("result").textContent = t("g_hold");
    } catch (e) { $("result").textContent = "NFC: " + e.message; }
  };
}

// A finding: the photo goes to /api/v1/files first, the finding names it. Its id is kept
// until the server answers, so a retry after a lost answer is a resend the server keeps
// once (200), not a second finding.
let findingId = null;
$("finding").onsubmit = async ev => {
  ev.preventDefault();
  const guard = guardInput.value.trim(), text = $("f-text").value.trim(), file = $("f-photo").files[0];
  if (!guard) { say("f-result", t("g_name_first"), false); return; }
  if (!text) { say("f-result", t("g_note_first"), false); return; }
  $("f-send").disabled = true;
  try {
    let photo = null;
    if (file) {
      const r = await fetch(`/api/v1/files?by=${encodeURIComponent(guard)}`, { method: "POST", headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": csrf }, body: file });
      const a = await r.json().catch(() => ({}));
      if (r.status === 401) { askPassword(); return; }
      if (!r.ok) { say("f-result", t("g_refused", { why: sw.refusal(a, r.status) }), false); return; }
      photo = a.id;
    }
    findingId = findingId || uuid();
    const body = { id: findingId, kind: $("f-kind").value, text, photo, guard, checkpoint: null, tour: null };
    const r = await fetch("/api/v1/patrol/findings", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify(body) });
    const a = await r.json().catch(() => ({}));
    if (r.status === 401) { askPassword(); return; }
    if (!r.ok) { say("f-result", t("g_refused", { why: sw.refusal(a, r.status) }), false); return; }
    say("f-result", t("g_reported"), true);
    findingId = null;
    $("f-text").value = ""; $("f-photo").value = ""; $("f-name").textContent = "";
  } catch (e) {
    say("f-result", t("g_offline_retry"), false);
  } finally { $("f-send").disabled = false; }
};

// The browser's own file button speaks the browser's language: a button of the page's.
$("f-take").onclick = () => $("f-photo").click();
$("f-photo").onchange = () => { $("f-name").textContent = $("f-photo").files[0]?.name || ""; };

setupNfc();
saveQueue(queue());
window.addEventListener("online", flush);
setInterval(flush, 5000);
setInterval(showTour, 15000);
flush();
