// The duty desk's registers tab (台账): the key register (rules.md §13.23) with each set's
// state and a sign-out / sign-in button, plant maintenance (§13.13) with the tasks due or
// overdue and a "done" button, the pump sets' last switch-over, and the compliance
// register's due list (§13.24). Overdue and missing lines stand out in red, due-soon ones
// in amber. The server decides; a refusal is shown as its message.
"use strict";
const dutyRegisters = (() => {
  const { t, tp, esc, time, dur } = sw;
  const table = (title, head, rows, id) => dutyIncident.table(title, head, rows, id);
  const stateClass = s => s === "overdue" || s === "missing" ? "s-red" : s === "due_soon" || s === "out" ? "s-amber" : "";
  const rowClass = s => s === "overdue" || s === "missing" ? "overdue" : "";

  function keyRow(k) {
    const act = k.state === "in"
      ? `<button type="button" data-key-out="${esc(k.id)}">${t("rg_sign_out")}</button>`
      : k.loan ? `<button type="button" data-key-in="${esc(k.id)}">${t("rg_sign_in")}</button>` : "";
    const who = k.loan ? `${esc(k.loan.holder)} · ${t("rg_due_back")} ${time(k.due_back)}`
      : k.missing_since ? `${t("rg_missing_since")} ${time(k.missing_since)}` : esc(k.keeper);
    return `<tr data-key="k:${esc(k.id)}" data-keyset="${esc(k.id)}" class="${rowClass(k.state)}">
      <td>${esc(k.label)}<br><small>${esc(tp("kk_", k.kind))} · ${esc(k.location)}</small></td>
      <td class="${stateClass(k.state)}">${esc(tp("ks_", k.state))}</td><td>${who}</td><td>${act}</td></tr>`;
  }

  function taskRow(x) {
    const act = `<button type="button" data-task-done="${esc(x.id)}">${t("rg_done")}</button>`;
    return `<tr data-key="m:${esc(x.id)}" data-task="${esc(x.id)}" class="${rowClass(x.state)}">
      <td>${esc(x.name)}<br><small>${esc(x.equipment)} · ${esc(tp("mk_", x.kind))} · ${t("rg_every_months", { n: x.interval_months })}</small></td>
      <td class="${stateClass(x.state)}">${esc(tp("rst_", x.state))}<br><small>${esc(x.next_due)}</small></td>
      <td>${x.last_done ? esc(x.last_done) : "—"}</td><td>${act}</td></tr>`;
  }

  function pumpRow(p, now) {
    const last = p.last_switch_over
      ? `${time(p.last_switch_over)} (${t("rg_ago", { d: dur((now - Date.parse(p.last_switch_over)) / 1000) })})` : t("rg_never");
    return `<tr data-key="p:${esc(p.id)}"><td>${esc(p.name)}</td><td>${last}</td><td>${t(p.derived ? "rg_from_points" : "rg_by_hand")}</td></tr>`;
  }

  function complianceRow(c) {
    return `<tr data-key="c:${esc(c.id)}" class="${rowClass(c.state)}"><td>${esc(c.name)}<br><small>${esc(tp("ck_", c.kind))} · ${esc(c.contractor)}</small></td>
      <td class="${stateClass(c.state)}">${esc(tp("rst_", c.state))}</td><td>${esc(c.next_due)}</td></tr>`;
  }

  /// The tab's HTML.
  async function html() {
    const [now, keys, tasks, pumps, compliance] = await Promise.all([
      dutyHandover.serverNow(),
      sw.get("/api/v1/keys"), sw.get("/api/v1/maintenance"),
      sw.get("/api/v1/pump-sets").catch(() => []), sw.get("/api/v1/compliance/due").catch(() => []),
    ]);
    const rank = s => ({ overdue: 0, missing: 1, due_soon: 2, out: 3 }[s] ?? 4);
    keys.sort((a, b) => rank(a.state) - rank(b.state));
    tasks.sort((a, b) => rank(a.state) - rank(b.state) || a.next_due.localeCompare(b.next_due));
    const hours = [1, 2, 4, 8].map(h => `<option value="${h}"${h === 4 ? " selected" : ""}>${t("rg_hours", { h })}</option>`).join("");
    const keyForm = `<label class="rg-back">${t("rg_expected_back")} <select id="rg-hours">${hours}</select></label>`;
    return `<div class="card rg-help">${keyForm}</div>`
      + table(t("rg_keys"), [t("rg_key"), t("state"), t("rg_holder"), ""], keys.map(keyRow), "rg-keys")
      + table(t("rg_tasks"), [t("rg_task"), t("state"), t("rg_last_done"), ""], tasks.map(taskRow), "rg-tasks")
      + table(t("rg_pumps"), [t("rg_pump_set"), t("rg_last_switch"), t("rg_source")], pumps.map(p => pumpRow(p, now)), "rg-pumps")
      + table(t("rg_compliance"), [t("rg_item"), t("state"), t("deadline")], compliance.map(complianceRow), "rg-compliance");
  }

  const panel = document.getElementById("registers");
  panel.addEventListener("click", async e => {
    const b = e.target.closest("button");
    if (!b || b.disabled) return;
    const actor = sw.actor();
    if (!actor) return;
    let done = null;
    if (b.dataset.keyOut) {
      const h = Number(document.getElementById("rg-hours").value || 4);
      const back = new Date(await dutyHandover.serverNow() + h * 3600e3).toISOString();
      done = await sw.post(`/api/v1/keys/${encodeURIComponent(b.dataset.keyOut)}/sign-out`, { holder: actor, purpose: t("rg_purpose"), expected_back: back });
    } else if (b.dataset.keyIn) {
      done = await sw.post(`/api/v1/keys/${encodeURIComponent(b.dataset.keyIn)}/sign-in`, { by: actor });
    } else if (b.dataset.taskDone) {
      const on = sw.toLocal(await dutyHandover.serverNow()).slice(0, 10);
      done = await sw.post(`/api/v1/maintenance/${encodeURIComponent(b.dataset.taskDone)}/done`, { on, actor });
    }
    if (done) { sw.toast(t("rg_saved"), "ok"); duty.refresh(); }
  });

  return { html };
})();
