// On call now and next, and the record of pages (issue 21): a script of its own that reads
// two endpoints and draws two elements of the duty desk, so its panels stay as they are.
(() => {
  const { esc, time, t } = sw;
  const LEVEL = { duty_engineer: "值班工程师 Duty engineer", shift_lead: "值班主管 Shift lead", manager: "经理 Manager" };
  const names = who => who.length ? esc(who.join(", ")) : "无人 nobody";
  const incident = (location.pathname.match(/^\/incidents\/(\d+)$/) || [])[1];
  let paging = false;
  async function oncall() {
    const el = document.getElementById("oncall");
    try {
      const o = await sw.get("/api/v1/oncall");
      paging = o.paging;
      el.hidden = !o.paging;
      el.innerHTML = "值班 On call: " + o.levels.map(l => `<span data-level="${esc(l.level)}" class="${l.now.length ? "" : "bad"}">`
        + `${esc(LEVEL[l.level] || l.level)} <b>${names(l.now)}</b>`
        + (l.next_at ? ` <small>→ ${names(l.next)} ${time(l.next_at)}</small>` : "") + `</span>`).join(" · ");
    } catch (e) { /* the header's status already says the server is out of reach */ }
  }
  async function record() {
    const el = document.getElementById("pages-record");
    const onAlarms = (location.hash.slice(1) || localStorage.getItem("tab") || "alarms") === "alarms";
    // Without [paging] nobody is paged: no record to show.
    if (!paging || (!incident && !onAlarms)) { el.hidden = true; return; }
    const rows = await sw.get(`/api/v1/pages?${incident ? `incident=${incident}&limit=100` : "limit=20"}`).catch(() => null);
    if (!rows) return;
    el.hidden = false;
    const head = ["时间 When", "告警 Alarm", "级别 Level", "人员 Person", "渠道 Channel", "结果 Outcome", "次数 Attempts"];
    const body = rows.map(p => `<tr data-page="${p.id}"><td>${time(p.sent_at || p.due_at)}</td><td>${esc(p.alarm || "")}</td>`
      + `<td>${esc(LEVEL[p.level] || p.level)} ${p.seq ? "#" + p.seq : ""}</td><td>${esc(p.person || "")}</td>`
      + `<td>${esc(p.channel || "")} <small>${esc(p.address || "")}</small></td>`
      + `<td>${esc(p.status)} <small>${esc(p.cancelled_by || p.reason || "")}</small></td><td>${p.attempts}</td></tr>`).join("");
    const html = `<div class="card"><h2>寻呼记录 Pages</h2><table id="pages"><thead><tr>${head.map(h => `<th>${h}</th>`).join("")}</tr></thead>`
      + `<tbody>${body || `<tr><td colspan="7" class="empty">—</td></tr>`}</tbody></table></div>`;
    if (el.innerHTML !== html) el.innerHTML = html;
  }
  // The signed-in person's own order of channels: shown only to someone in [[people]].
  const CHANNEL = { sms: t("pch_sms"), voice: t("pch_voice"), wechat: t("pch_wechat"), dingtalk: t("pch_dingtalk"), email: t("pch_email"), mqtt: t("pch_mqtt") };
  function drawMine(m) {
    const el = document.getElementById("my-channels");
    const rows = m.channels.map((c, i) => `<li data-key="${esc(c.channel)}-${i}">${esc(CHANNEL[c.channel] || c.channel)} <small>${esc(c.address)}</small>`
      + (i ? ` <button type="button" data-up="${i}" aria-label="${t("move_up")}">↑ ${t("move_up")}</button>` : "") + `</li>`).join("");
    el.innerHTML = `<summary>${t("my_channels")} <small>(${m.own ? t("my_channels_own") : t("my_channels_config")})</small></summary>`
      + `<p><small>${t("my_channels_hint")}</small></p><ol>${rows}</ol>`;
    el.hidden = false;
    el.querySelectorAll("button[data-up]").forEach(b => b.onclick = async () => {
      const order = m.channels.map(c => c.channel).filter((c, i, all) => all.indexOf(c) === i);
      const i = order.indexOf(m.channels[+b.dataset.up].channel);
      if (i > 0) [order[i - 1], order[i]] = [order[i], order[i - 1]];
      const saved = await sw.send("PUT", "/api/v1/oncall/me/channels", { order });
      if (saved) drawMine(saved);
    });
  }
  async function mine() {
    const m = await sw.get("/api/v1/oncall/me/channels").catch(() => null);
    if (m && m.channels.length) drawMine(m);
  }
  oncall().then(record).then(() => { if (paging && sw.me) mine(); });
  setInterval(oncall, 30000);
  setInterval(record, 5000);
})();
