// The facilitator's page of a session of peer groups: the groups side by side, where they
// agree and diverge, their futures drawn together; opening rounds and revealing proposals.
// Plain JavaScript, nothing fetched but this server's API; every text a group wrote is shown
// as text (textContent), never as markup.
"use strict";

const KEY = new URLSearchParams(location.search).get("key") || "";
const state = { scenario: null, session: null, round: null, drawn: null, controller: null };
window.__trajectoire = { renders: 0, errors: [] };
const $ = (id) => document.getElementById(id);

function showProblems(list) {
  const box = $("problems");
  box.textContent = "";
  box.hidden = !list || list.length === 0;
  for (const p of list || []) {
    const para = document.createElement("p");
    para.textContent = p.help ? `${p.message} — ${p.help}` : p.message;
    box.appendChild(para);
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "X-Trajectoire-Key": KEY, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const answer = await response.json();
  if (!response.ok) throw Object.assign(new Error("refused"), { answer, status: response.status });
  return answer;
}

function percent(x) {
  return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`;
}

function points(x) {
  if (x === null || x === undefined) return "–";
  const v = 100 * x;
  return `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v).toFixed(1)}`;
}

function slider(path) {
  return state.scenario.sliders.find((s) => s.path === path);
}

function valueText(path, x) {
  const s = slider(path);
  if (!s) return String(x);
  switch (s.unit) {
    case "chance":
    case "share":
      return `${(100 * x).toFixed(1)}%`;
    case "€ a month":
      return `${Math.round(x).toLocaleString("en-GB")} € a month`;
    default:
      return `${s.integer ? x.toFixed(0) : Number(x.toPrecision(3))} ${s.unit || ""}`.trim();
  }
}

function outcomes() {
  const s = state.scenario;
  const towns = s.is_network ? s.territories.map((t) => [`${t.id}:`, `${t.name}: `]) : [["", ""]];
  const out = [];
  for (const [prefix, town] of towns) {
    for (const [name, words] of [["stabilisation", "stabilisation"], ["perpetuation", "perpetuation"], ["scale", "change of scale"]]) {
      out.push({ outcome: `${prefix}${name}@end`, label: `${town}${words} at the end` });
    }
  }
  return out;
}

// Each group's latest proposal of the round shown.
function latest() {
  const byGroup = new Map();
  for (const p of state.session.proposals) {
    if (p.round === state.round) byGroup.set(p.group, p);
  }
  return state.session.groups.map((g) => [g, byGroup.get(g) || null]);
}

function cell(tag, text, className) {
  const c = document.createElement(tag);
  if (text !== undefined) c.textContent = text;
  if (className) c.className = className;
  return c;
}

function renderSide() {
  const groups = latest();
  const head = $("side").querySelector("thead");
  head.textContent = "";
  const hr = document.createElement("tr");
  hr.appendChild(cell("th", ""));
  for (const [g, p] of groups) {
    const th = cell("th", p ? `${g} (proposal ${p.id})` : `${g} (no proposal yet)`);
    th.scope = "col";
    hr.appendChild(th);
  }
  head.appendChild(hr);
  const body = $("side").querySelector("tbody");
  body.textContent = "";
  const row = (label, fill) => {
    const tr = document.createElement("tr");
    const th = cell("th", label);
    th.scope = "row";
    tr.appendChild(th);
    for (const [, p] of groups) {
      const td = document.createElement("td");
      if (p) fill(td, p);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  };
  row("Choices", (td, p) => {
    const entries = Object.entries(p.set);
    if (entries.length === 0) td.textContent = "the file as written";
    const ul = document.createElement("ul");
    for (const [path, x] of entries) {
      const s = slider(path);
      const li = document.createElement("li");
      li.textContent = `${s ? s.label : path}: ${valueText(path, x)}${s ? ` (as written ${valueText(path, s.value)})` : ""}`;
      ul.appendChild(li);
    }
    td.appendChild(ul);
  });
  row("Why (the group's reasons)", (td, p) => {
    const q = document.createElement("blockquote");
    q.textContent = p.note || "—";
    td.appendChild(q);
  });
  for (const o of outcomes()) {
    row(o.label, (td, p) => {
      const r = p.results[o.outcome];
      const d = p.differences[o.outcome];
      const guess = p.prediction[o.outcome];
      const lines = [];
      if (guess !== undefined) lines.push(`predicted ${percent(guess)}`);
      if (r) lines.push(`simulated ${percent(r.estimate)} (${percent(r.low)}–${percent(r.high)})`);
      if (d) lines.push(`vs as written ${points(d.estimate)} points (${points(d.low)} to ${points(d.high)})`);
      td.textContent = lines.join(" · ");
    });
  }
  if (groups.some(([, p]) => p && p.verdicts.length > 0)) {
    row("Hypotheses", (td, p) => {
      const ul = document.createElement("ul");
      for (const v of p.verdicts) {
        const li = document.createElement("li");
        li.appendChild(document.createTextNode(`${v.name}: `));
        li.title = v.text;
        li.appendChild(cell("span", v.verdict, `verdict ${v.verdict}`));
        ul.appendChild(li);
      }
      td.appendChild(ul);
    });
  }
}

// Where the groups moved the same slider the same way, and where not.
function renderAgreement() {
  const list = $("agreement");
  list.textContent = "";
  const proposals = latest().filter(([, p]) => p);
  const paths = new Set();
  for (const [, p] of proposals) for (const path of Object.keys(p.set)) paths.add(path);
  if (paths.size === 0) {
    list.appendChild(cell("li", proposals.length === 0 ? "No proposal in this round yet." : "No group moved a slider."));
    return;
  }
  for (const path of paths) {
    const s = slider(path);
    const written = s ? s.value : null;
    const up = [], down = [], kept = [];
    for (const [g, p] of proposals) {
      const x = p.set[path];
      if (x === undefined || written === null || Math.abs(x - written) < 1e-12) kept.push(g);
      else if (x > written) up.push(g);
      else down.push(g);
    }
    const li = document.createElement("li");
    const name = s ? s.label : path;
    let verdict, text;
    if (up.length > 0 && down.length > 0) {
      verdict = cell("span", "diverge", "diverge");
      text = `${name}: raised by ${up.join(", ")}; lowered by ${down.join(", ")}`;
    } else {
      const moved = up.length > 0 ? up : down;
      const way = up.length > 0 ? "raised" : "lowered";
      verdict = cell("span", moved.length > 1 ? "agree" : "one group", moved.length > 1 ? "agree" : "");
      text = `${name}: ${way} by ${moved.join(", ")}`;
    }
    if (kept.length > 0) text += `; kept as written by ${kept.join(", ")}`;
    li.append(verdict, document.createTextNode(` — ${text}`));
    list.appendChild(li);
  }
}

async function drawRoom() {
  const proposals = latest().filter(([, p]) => p);
  const signature = `${state.round}|${$("base").value}|${proposals.map(([, p]) => p.id).join(",")}`;
  if (signature === state.drawn) return;
  state.drawn = signature;
  const charts = $("charts");
  const table = $("differences-table");
  if (proposals.length === 0) {
    charts.textContent = "";
    table.querySelector("thead").textContent = "";
    table.querySelector("tbody").textContent = "";
    return;
  }
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  $("status").textContent = "Drawing the groups' futures together…";
  const q = new URLSearchParams({ round: String(state.round) });
  if ($("base").value) q.set("base", $("base").value);
  let room;
  try {
    room = await api(`/api/room?${q}`, { signal: controller.signal });
  } catch (e) {
    if (e.name === "AbortError") return;
    state.drawn = null;
    showProblems(e.answer ? e.answer.errors : [{ message: `The server did not answer: ${e.message}` }]);
    $("status").textContent = "";
    return;
  }
  if (controller !== state.controller) return;
  showProblems([]);
  const head = table.querySelector("thead");
  head.textContent = "";
  const hr = document.createElement("tr");
  hr.appendChild(cell("th", `Difference with ${room.base} (points, paired)`));
  for (const e of room.entries.slice(1)) hr.appendChild(cell("th", e.name));
  head.appendChild(hr);
  const body = table.querySelector("tbody");
  body.textContent = "";
  for (const o of outcomes()) {
    const tr = document.createElement("tr");
    tr.appendChild(cell("th", o.label));
    for (const e of room.entries.slice(1)) {
      const d = e.differences ? e.differences[o.outcome] : null;
      const td = cell("td", d ? `${points(d.estimate)} (${points(d.low)} to ${points(d.high)})` : "–");
      if (d && d.low > 0) td.className = "agree";
      else if (d && d.high < 0) td.className = "diverge";
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  charts.textContent = "";
  for (const c of room.charts) {
    const figure = document.createElement("figure");
    figure.setAttribute("aria-label", c.name);
    // The server's own SVG (group names are ids: letters, digits, - and _).
    figure.innerHTML = c.svg;
    charts.appendChild(figure);
  }
  window.__trajectoire.renders += 1;
  $("status").textContent = `${room.runs.toLocaleString("en-GB")} futures each, seed ${room.seed}.`;
}

function renderRounds() {
  const select = $("round");
  const current = state.round;
  select.textContent = "";
  for (const r of state.session.rounds) {
    const o = document.createElement("option");
    o.value = r.number;
    o.textContent = `${r.number}${r.revealed ? " (revealed)" : ""}`;
    select.appendChild(o);
  }
  select.value = String(current);
  const base = $("base");
  const chosen = base.value;
  base.textContent = "";
  base.appendChild(Object.assign(document.createElement("option"), { value: "", textContent: "the file as written" }));
  for (const [g, p] of latest()) {
    if (p) base.appendChild(Object.assign(document.createElement("option"), { value: g, textContent: `group ${g}` }));
  }
  base.value = [...base.options].some((o) => o.value === chosen) ? chosen : "";
}

async function refresh() {
  try {
    state.session = await api("/api/session");
  } catch (e) {
    showProblems(e.answer ? e.answer.errors : [{ message: `The server did not answer: ${e.message}` }]);
    return;
  }
  if (state.round === null) state.round = state.session.round;
  renderRounds();
  renderSide();
  renderAgreement();
  drawRoom();
}

$("round").addEventListener("change", () => {
  state.round = Number($("round").value);
  refresh();
});
$("base").addEventListener("change", () => drawRoom());
$("draw").addEventListener("click", () => {
  state.drawn = null;
  drawRoom();
});
$("next").addEventListener("click", async () => {
  try {
    const answer = await api("/api/rounds", { method: "POST", body: "{}" });
    state.round = answer.round;
    $("status").textContent = `Round ${answer.round} is open.`;
  } catch (e) {
    showProblems(e.answer ? e.answer.errors : [{ message: e.message }]);
  }
  refresh();
});
$("reveal").addEventListener("click", async () => {
  try {
    const answer = await api("/api/reveal", { method: "POST", body: JSON.stringify({ round: state.round }) });
    $("status").textContent = `Every group now sees the others' proposals of round ${answer.revealed}.`;
  } catch (e) {
    showProblems(e.answer ? e.answer.errors : [{ message: e.message }]);
  }
  refresh();
});
window.addEventListener("error", (e) => window.__trajectoire.errors.push(String(e.message)));

(async function start() {
  try {
    const response = await fetch("/api/scenario");
    state.scenario = await response.json();
  } catch (e) {
    showProblems([{ message: `The scenario could not be read: ${e.message}` }]);
    return;
  }
  document.title = `${state.scenario.name} — trajectoire facilitator`;
  $("title").textContent = `${state.scenario.name} — facilitator`;
  $("footer").textContent = `trajectoire ${state.scenario.version} · seed ${state.scenario.seed}`;
  await refresh();
  // New proposals appear as they arrive.
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, 3000);
})();
