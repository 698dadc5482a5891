// The site plan (平面图, `/plan`): a floor's image with its devices, checkpoints and
// units as markers coloured by their live state (`GET /api/v1/plans/{building}/{floor}`
// answers each marker's state, alarm and incident). The live stream and a 5 s timer ask
// again and patch the markers' classes in place; the image is never redrawn. Tapping a
// marker shows its name, state and a link to its alarm (the console's detail) or
// incident. An admin uploads a floor's image and, in edit mode, places markers by
// tapping the image and drags them; "save" sends them all (`PUT …/markers`).
"use strict";
(() => {
  const { t, esc } = sw;
  const $ = id => document.getElementById(id);
  const enc = encodeURIComponent;
  const role = sw.meta("role");
  // Sign-in off (no role): the server lets anyone place; signed in: only an admin.
  const mayEdit = role === "" || role === "admin";

  let plans = [];
  let current = null; // the plan as last answered
  let picked = null; // the marker key tapped ("device:pump_1")
  let draft = null; // edit mode: the markers being placed, [{kind, id, x, y}]
  let things = []; // what can be placed

  const key = m => `${m.kind}:${m.id}`;
  const chosen = () => $("plan-pick").value;
  const planUrl = v => {
    const [b, f] = JSON.parse(v);
    return `/api/v1/plans/${enc(b)}/${enc(f)}`;
  };

  // ---- drawing -------------------------------------------------------------------------

  /// A marker's classes: its kind, its state, an alarm's priority, and unacknowledged
  /// (blinking ring) so the colour alone never has to say it.
  function classes(m) {
    const c = ["marker", "k-" + m.kind, "st-" + (m.state || "ok")];
    if (m.priority) c.push("p-" + m.priority);
    if (m.unacknowledged) c.push("unack");
    if (key(m) === picked) c.push("picked");
    return c.join(" ");
  }

  function stateWords(m) {
    if (m.state === "alarm") return t("pm_alarm_of", { p: t(m.priority) }) + (m.unacknowledged ? " · " + t("pm_unack") : "");
    return t("pm_st_" + (m.state || "ok"));
  }

  function markerHtml(m) {
    const label = `${m.name || m.id} · ${stateWords(m)}`;
    return `<button type="button" class="${classes(m)}" data-key="${esc(key(m))}" style="left:${(m.x * 100).toFixed(2)}%;top:${(m.y * 100).toFixed(2)}%"
      aria-label="${esc(label)}" title="${esc(label)}"><span class="marker-dot ${classes(m).replace("marker ", "")}"></span></button>`;
  }

  /// The markers shown: the draft's places while editing (with the states last known),
  /// the server's otherwise.
  function shown() {
    const live = new Map((current?.markers || []).map(m => [key(m), m]));
    if (!draft) return current?.markers || [];
    return draft.map(d => ({ ...(live.get(key(d)) || { name: nameOf(d), state: "ok" }), ...d }));
  }

  function nameOf(d) {
    const th = things.find(x => x.kind === d.kind && x.id === d.id);
    return th ? th.name : d.id;
  }

  function drawMarkers() {
    sw.patch("plan-markers", shown().map(markerHtml).join(""));
    drawDetail();
  }

  function drawDetail() {
    const m = shown().find(x => key(x) === picked);
    const el = $("plan-detail");
    if (!m) { el.hidden = true; return; }
    const links = [];
    if (m.alarm) links.push(`<a class="btn" id="open-alarm" href="/?alarm=${enc(m.alarm)}#alarms">${t("pm_open_alarm")}</a>`);
    if (m.incident) links.push(`<a class="btn" id="open-incident" href="/incidents/${enc(m.incident)}">${t("pm_open_incident", { id: m.incident })}</a>`);
    if (draft) links.push(`<button type="button" id="unplace">${t("pm_remove")}</button>`);
    sw.patch(el, `<h2><span class="marker-dot ${classes(m).replace("marker ", "")}"></span><span id="detail-name">${esc(m.name || m.id)}</span>
      <small>${esc(t("pm_k_" + m.kind))}</small></h2>
      <div id="detail-state" class="${m.state === "alarm" ? "s-red" : m.state === "ok" ? "s-green" : "s-amber"}">${esc(stateWords(m))}</div>
      <div class="actions">${links.join("")}</div>`);
    el.hidden = false;
  }

  // ---- loading -------------------------------------------------------------------------

  async function loadPlans() {
    plans = await sw.get("/api/v1/plans");
    const keep = chosen() || localStorage.getItem("plan");
    const opts = plans.map(p => [JSON.stringify([p.building, p.floor]), t("pm_plan_name", { b: p.building, f: p.floor })]);
    $("plan-pick").replaceChildren(...opts.map(([v, label]) => new Option(label, v)));
    if (opts.some(([v]) => v === keep)) $("plan-pick").value = keep;
    $("plan-empty").hidden = plans.length > 0;
    $("plan-stage").hidden = !plans.length;
  }

  // One request at a time; one asked for meanwhile runs after it.
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true; again = false;
    try {
      if (!chosen()) return;
      const url = planUrl(chosen());
      const plan = await sw.get(url);
      if (url !== planUrl(chosen())) return;
      const src = `/api/v1/files/${enc(plan.image)}`;
      // The image is set only when it changes: a live update touches the markers alone.
      if ($("plan-img").getAttribute("src") !== src) $("plan-img").setAttribute("src", src);
      current = plan;
      drawMarkers();
      sw.fresh();
    } catch (e) {
      /* the banner says the server is out of reach; the plan keeps what it showed */
    } finally {
      busy = false;
      if (again) refresh();
    }
  }

  // ---- edit mode (admin) -----------------------------------------------------------------

  async function startEdit() {
    things = await sw.get("/api/v1/plans/placeable");
    draft = (current?.markers || []).map(({ kind, id, x, y }) => ({ kind, id, x, y }));
    $("plan-tools").hidden = false;
    $("plan-edit").hidden = true;
    document.body.classList.add("plan-editing");
    fillThings();
    drawMarkers();
  }

  function stopEdit() {
    draft = null;
    $("plan-tools").hidden = true;
    $("plan-edit").hidden = !mayEdit || !current;
    document.body.classList.remove("plan-editing");
    drawMarkers();
  }

  /// The choice of things of the kind chosen, those of this plan's building first.
  function fillThings() {
    const kind = $("place-kind").value, building = current?.building;
    const list = things.filter(x => x.kind === kind)
      .sort((a, b) => (b.building === building) - (a.building === building) || a.name.localeCompare(b.name));
    const keep = $("place-id").value;
    $("place-id").replaceChildren(...list.map(x => new Option(x.name === x.id ? x.id : `${x.name} (${x.id})`, x.id)));
    if (list.some(x => x.id === keep)) $("place-id").value = keep;
  }

  /// Where a pointer is on the image, as fractions of its size (kept inside it).
  function fraction(e) {
    const r = $("plan-img").getBoundingClientRect();
    const clamp = v => Math.min(1, Math.max(0, v));
    return { x: clamp((e.clientX - r.left) / r.width), y: clamp((e.clientY - r.top) / r.height) };
  }

  /// Puts the chosen thing where the image was tapped (moving it if already placed).
  function place(e) {
    const id = $("place-id").value, kind = $("place-kind").value;
    if (!id) return;
    const at = fraction(e);
    draft = draft.filter(d => !(d.kind === kind && d.id === id)).concat([{ kind, id, ...at }]);
    picked = `${kind}:${id}`;
    drawMarkers();
  }

  // Dragging a placed marker: pointer capture keeps the moves coming to it.
  let dragging = null;
  function dragStart(e) {
    const el = e.target.closest(".marker");
    if (!draft || !el) return;
    dragging = { key: el.dataset.key, moved: false };
    el.setPointerCapture(e.pointerId);
    e.preventDefault();
  }
  function dragMove(e) {
    if (!dragging) return;
    const d = draft.find(x => key(x) === dragging.key);
    if (!d) return;
    Object.assign(d, fraction(e));
    dragging.moved = true;
    drawMarkers();
  }
  function dragEnd() {
    if (dragging) picked = dragging.key;
    dragging = null;
    drawMarkers();
  }

  async function save() {
    const answer = await sw.send("PUT", planUrl(chosen()) + "/markers", { markers: draft });
    if (!answer) return;
    current = answer;
    sw.toast(t("pm_saved"), "ok");
    stopEdit();
  }

  async function upload(e) {
    e.preventDefault();
    const file = $("up-file").files[0], building = $("up-building").value.trim(), floor = $("up-floor").value.trim();
    if (!file || !building || !floor) return;
    const r = await fetch("/api/v1/files", { method: "POST", headers: { "content-type": file.type, "x-csrf-token": sw.meta("csrf-token") }, body: file });
    const kept = await r.json().catch(() => ({}));
    if (!r.ok) { sw.toast(t("refused", { why: kept.message || r.status })); return; }
    const plan = await sw.send("PUT", `/api/v1/plans/${enc(building)}/${enc(floor)}`, { image: kept.id });
    if (!plan) return;
    localStorage.setItem("plan", JSON.stringify([building, floor]));
    $("plan-upload").reset();
    $("plan-new").open = false;
    sw.toast(t("pm_uploaded"), "ok");
    await loadPlans();
    $("plan-pick").value = JSON.stringify([building, floor]);
    await refresh();
    $("plan-edit").hidden = false;
  }

  // ---- wiring --------------------------------------------------------------------------

  $("plan-markers").addEventListener("click", e => {
    const el = e.target.closest(".marker");
    if (!el || dragging?.moved) return;
    picked = el.dataset.key;
    drawMarkers();
    $("plan-detail").scrollIntoView({ block: "nearest" });
  });
  $("plan-detail").addEventListener("click", e => {
    if (e.target.id !== "unplace" || !draft) return;
    draft = draft.filter(d => key(d) !== picked);
    picked = null;
    drawMarkers();
  });
  $("plan-img").addEventListener("click", e => { if (draft) place(e); });
  $("plan-markers").addEventListener("pointerdown", dragStart);
  $("plan-markers").addEventListener("pointermove", dragMove);
  $("plan-markers").addEventListener("pointerup", dragEnd);
  $("plan-pick").onchange = () => {
    localStorage.setItem("plan", chosen());
    picked = null;
    if (draft) stopEdit();
    refresh();
  };
  $("plan-edit").onclick = startEdit;
  $("plan-cancel").onclick = stopEdit;
  $("plan-save").onclick = save;
  $("place-kind").onchange = fillThings;
  $("plan-upload").onsubmit = upload;
  $("plan-bar").onsubmit = e => e.preventDefault();
  $("plan-tools").onsubmit = e => e.preventDefault();
  $("plan-new").hidden = !mayEdit;

  (async () => {
    try { await loadPlans(); } catch (e) { /* the banner says so */ }
    await refresh();
    $("plan-edit").hidden = !mayEdit || !current;
  })();
  // Alarms, devices, incidents and tours change markers: ask again at once.
  sw.live(["alarm", "device", "incident", "patrol"], () => refresh());
  setInterval(refresh, 5000);
})();
