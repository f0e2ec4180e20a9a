// The workshop page: sliders, a request to the server when one is released, the charts and
// words of the answer. Plain JavaScript, no library, nothing fetched but this server's API.
"use strict";

// This page's own name for the server: one simulation at a time per page (a newer request
// cancels the older), however many pages share one machine's address.
const PAGE = Math.random().toString(36).slice(2, 14);
// In a session of peer groups, this page's group key (the link's ?key=...).
const KEY = new URLSearchParams(location.search).get("key");
const state = { scenario: null, controller: null, pending: null, guessFor: null };
// For tests and the curious: how long the last answer took from the slider's release to the
// charts drawn, in milliseconds, and how many answers were drawn.
window.__trajectoire = { renders: 0, lastMs: null, errors: [] };

const $ = (id) => document.getElementById(id);

function formatValue(slider, x) {
  switch (slider.unit) {
    case "chance":
    case "share":
      return `${(100 * x).toFixed(slider.step < 0.01 ? 1 : 0)}%`;
    case "€ a month":
      return `${Math.round(x).toLocaleString("en-GB")} € a month`;
    case "×":
      return `× ${x.toFixed(2)}`;
    default: {
      const digits = slider.integer ? 0 : Math.max(0, Math.min(4, -Math.floor(Math.log10(slider.step))));
      return `${x.toFixed(digits)} ${slider.unit}`;
    }
  }
}

// A lever's intensity with what it spends: "× 1.20 · 3,000 € a month".
function withSpend(slider, x) {
  const value = formatValue(slider, x);
  if (slider.cost === null || slider.cost === undefined) return value;
  return `${value} · ${Math.round(slider.cost * x).toLocaleString("en-GB")} € a month`;
}

function sliderElements() {
  return Array.from(document.querySelectorAll("#sliders input[type=range]"));
}

function choices() {
  const set = {};
  for (const input of sliderElements()) {
    const s = state.scenario.sliders[Number(input.dataset.index)];
    const x = Number(input.value);
    if (Math.abs(x - s.value) > 1e-12) set[s.path] = x;
  }
  return set;
}

function groupOf(slider) {
  if (!state.scenario.is_network) return "";
  const first = slider.path.split(".")[0];
  const town = state.scenario.territories.find((t) => t.id === first);
  return town ? town.name : "The network";
}

function buildSliders() {
  const host = $("sliders");
  host.textContent = "";
  const groups = new Map();
  state.scenario.sliders.forEach((s, i) => {
    const name = groupOf(s);
    if (!groups.has(name)) {
      const fs = document.createElement("fieldset");
      const lg = document.createElement("legend");
      lg.textContent = name || "Levers, budget and shocks";
      fs.appendChild(lg);
      host.appendChild(fs);
      groups.set(name, fs);
    }
    const box = document.createElement("div");
    box.className = "slider";
    const id = `slider-${i}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = s.label.replace(/^[^:]+: /, state.scenario.is_network ? "" : "$&");
    const row = document.createElement("div");
    row.className = "row";
    const input = document.createElement("input");
    input.type = "range";
    input.id = id;
    input.min = s.min;
    input.max = s.max;
    input.step = s.step;
    input.value = s.value;
    input.dataset.index = i;
    const out = document.createElement("output");
    out.htmlFor = id;
    const written = document.createElement("span");
    written.className = "written";
    written.id = `${id}-written`;
    written.textContent = `as written: ${withSpend(s, s.value)}`;
    input.setAttribute("aria-describedby", written.id);
    const show = () => {
      const x = Number(input.value);
      out.textContent = withSpend(s, x);
      input.setAttribute("aria-valuetext", withSpend(s, x));
      box.classList.toggle("changed", Math.abs(x - s.value) > 1e-12);
    };
    input.addEventListener("input", show);
    // Released (mouse, touch) or moved by the keyboard: ask for the futures.
    input.addEventListener("change", () => request());
    show();
    row.append(input, out);
    box.append(label, row, written);
    groups.get(name).appendChild(box);
  });
}

function showProblems(list) {
  const box = $("problems");
  if (!list || list.length === 0) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = "";
  for (const p of list) {
    const para = document.createElement("p");
    para.textContent = p.help ? `${p.message} — ${p.help}` : p.message;
    box.appendChild(para);
  }
}

async function request() {
  const started = performance.now();
  // A newer request makes the older one stale: it is cancelled, not queued.
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const runs = Number($("runs").value);
  $("status").textContent = `Simulating ${runs.toLocaleString("en-GB")} futures with your choices and as written…`;
  let answer;
  try {
    const response = await fetch("/api/simulate", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Trajectoire-Page": PAGE },
      body: JSON.stringify({ set: choices(), runs }),
      signal: controller.signal,
    });
    if (response.status === 409) return;
    answer = await response.json();
    if (!response.ok) {
      showProblems(answer.errors);
      $("status").textContent = "These choices cannot be simulated: see above.";
      return;
    }
  } catch (e) {
    if (e.name === "AbortError") return;
    showProblems([{ message: `The server did not answer: ${e.message}` }]);
    $("status").textContent = "";
    return;
  }
  if (controller !== state.controller) return;
  showProblems([]);
  render(answer);
  requestAnimationFrame(() => {
    const ms = performance.now() - started;
    window.__trajectoire.renders += 1;
    window.__trajectoire.lastMs = ms;
    $("status").textContent = `${answer.runs.toLocaleString("en-GB")} futures each, drawn in ${Math.round(ms)} ms.`;
  });
  updateDownloads();
}

function verdict(word) {
  const span = document.createElement("span");
  span.className = `verdict ${word}`;
  span.textContent = word;
  return span;
}

function render(answer) {
  const list = $("differences");
  list.textContent = "";
  for (const d of answer.differences) {
    const li = document.createElement("li");
    const low = d.difference.low, high = d.difference.high;
    if (low !== null && low > 0) li.className = "higher";
    else if (high !== null && high < 0) li.className = "lower";
    li.appendChild(document.createTextNode(d.sentence));
    list.appendChild(li);
  }
  const body = document.querySelector("#hypotheses tbody");
  body.textContent = "";
  if (answer.hypotheses.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 3;
    td.textContent = "The file states no hypothesis ([[hypothesis]] tables).";
    tr.appendChild(td);
    body.appendChild(tr);
  }
  for (const h of answer.hypotheses) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = h.name === h.text ? h.text : `${h.name} (${h.text})`;
    const a = document.createElement("td");
    a.appendChild(verdict(h.written.verdict));
    const b = document.createElement("td");
    b.appendChild(verdict(h.chosen.verdict));
    tr.append(name, a, b);
    body.appendChild(tr);
  }
  const charts = $("charts");
  charts.textContent = "";
  for (const c of answer.charts) {
    const figure = document.createElement("figure");
    figure.setAttribute("aria-label", c.name.replace("compare-", "").replace("-", " "));
    // The server's own SVG, drawn by the same code as the files.
    figure.innerHTML = c.svg;
    charts.appendChild(figure);
  }
  if ($("predict").checked && Object.keys(choices()).length > 0) {
    askForGuess(answer);
  } else {
    $("predict-box").hidden = true;
    $("revealed").classList.remove("hiding");
    $("guess-result").hidden = true;
  }
}

function askForGuess(answer) {
  const first = answer.differences[0];
  state.guessFor = first;
  $("guess-label").textContent = `What do you expect for ${first.what}, with your choices? (as written: ${(100 * first.written.estimate).toFixed(1)}%)`;
  $("guess").value = "";
  $("predict-box").hidden = false;
  $("revealed").classList.add("hiding");
  $("revealed").setAttribute("aria-hidden", "true");
  $("guess-result").hidden = true;
  $("guess").focus();
}

function updateDownloads() {
  const set = choices();
  const query = new URLSearchParams(Object.entries(set).map(([k, v]) => [k, String(v)]));
  const host = $("downloads");
  host.textContent = "";
  const link = (href, text) => {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.setAttribute("download", "");
    host.appendChild(a);
  };
  const files = new Set();
  if (state.scenario.is_network) {
    for (const path of Object.keys(set)) {
      const first = path.split(".")[0];
      const town = state.scenario.territories.find((t) => t.id === first);
      files.add(town ? town.id : state.scenario.id);
    }
  }
  if (files.size > 1) {
    for (const id of files) {
      const q = new URLSearchParams(query);
      q.set("file", id);
      link(`/api/export?${q}`, `the file of ${id} with your choices (TOML)`);
    }
  } else {
    link(`/api/export?${query}`, "the scenario with your choices (TOML)");
  }
  const q = new URLSearchParams(query);
  q.set("runs", $("runs").value);
  link(`/api/results.csv?${q}`, "the results (CSV)");
}

$("predict-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const guess = Number($("guess").value) / 100;
  const d = state.guessFor;
  $("predict-box").hidden = true;
  $("revealed").classList.remove("hiding");
  $("revealed").removeAttribute("aria-hidden");
  const result = $("guess-result");
  result.hidden = false;
  result.textContent = `Your guess: ${(100 * guess).toFixed(1)}%. The simulated futures: ${(100 * d.chosen.estimate).toFixed(1)}% (95%: ${(100 * d.chosen.low).toFixed(1)}–${(100 * d.chosen.high).toFixed(1)}%).`;
});

$("reset").addEventListener("click", () => {
  for (const input of sliderElements()) {
    const s = state.scenario.sliders[Number(input.dataset.index)];
    input.value = s.value;
    input.dispatchEvent(new Event("input"));
  }
  request();
});
$("runs").addEventListener("change", () => request());

window.addEventListener("error", (e) => window.__trajectoire.errors.push(String(e.message)));

// --- A session of peer groups: this group's proposals ------------------------------------

// The outcomes a group may predict, at the end, for each town: the share of futures where
// the transition is alive, and the two averages (anchored engagement, potential reached).
function predictable() {
  const s = state.scenario;
  const towns = s.is_network ? s.territories.map((t) => [`${t.id}:`, `${t.name}: `]) : [["", ""]];
  const out = [];
  for (const [prefix, town] of towns) {
    for (const [name, words] of [
      ["stabilisation", "Anchored engagement (stabilisation), on average"],
      ["perpetuation", "Futures where the transition is alive (perpetuation)"],
      ["scale", "Share of the potential reached (change of scale), on average"],
    ]) {
      out.push({ outcome: `${prefix}${name}@end`, label: `${town}${words}` });
    }
  }
  return out;
}

function percent(x) {
  return x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`;
}

function sliderLabel(path) {
  const s = state.scenario.sliders.find((x) => x.path === path);
  return s ? s.label : path;
}

function valueText(path, x) {
  const s = state.scenario.sliders.find((v) => v.path === path);
  return s ? withSpend(s, x) : String(x);
}

// One proposal as a list item: every text the group wrote goes in as text, never as markup.
function proposalItem(p, withGroup) {
  const li = document.createElement("li");
  const head = document.createElement("p");
  head.className = "head";
  head.textContent = `${withGroup ? `${p.group} · ` : ""}round ${p.round} · proposal ${p.id}`;
  li.appendChild(head);
  const set = Object.entries(p.set);
  const choices = document.createElement("ul");
  if (set.length === 0) {
    const item = document.createElement("li");
    item.textContent = "the file as written (no slider moved)";
    choices.appendChild(item);
  }
  for (const [path, x] of set) {
    const item = document.createElement("li");
    item.textContent = `${sliderLabel(path)}: ${valueText(path, x)}`;
    choices.appendChild(item);
  }
  li.appendChild(choices);
  if (p.note) {
    const note = document.createElement("blockquote");
    note.textContent = p.note;
    li.appendChild(note);
  }
  const results = document.createElement("p");
  results.className = "results";
  results.textContent = predictable()
    .filter((o) => p.results[o.outcome])
    .map((o) => {
      const r = p.results[o.outcome];
      const guess = p.prediction[o.outcome];
      const said = guess === undefined ? "" : `predicted ${percent(guess)}, `;
      return `${o.label}: ${said}simulated ${percent(r.estimate)} (${percent(r.low)}–${percent(r.high)})`;
    })
    .join(" · ");
  li.appendChild(results);
  return li;
}

async function loadSession() {
  const response = await fetch("/api/session", { headers: { "X-Trajectoire-Key": KEY } });
  const answer = await response.json();
  if (!response.ok) {
    showProblems(answer.errors);
    return null;
  }
  state.session = answer;
  $("proposal-title").textContent = `Group ${answer.name}: propose these choices (round ${answer.round})`;
  const mine = $("mine");
  mine.textContent = "";
  const others = $("others");
  others.textContent = "";
  for (const p of answer.proposals) {
    if (p.group === answer.name) mine.appendChild(proposalItem(p, false));
    else others.appendChild(proposalItem(p, true));
  }
  if (mine.childElementCount === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "None yet.";
    mine.appendChild(li);
  }
  $("others-title").hidden = others.childElementCount === 0;
  return answer;
}

function buildProposal() {
  $("proposal").hidden = false;
  const host = $("prediction-fields");
  host.textContent = "";
  predictable().forEach((o, i) => {
    const label = document.createElement("label");
    label.htmlFor = `prediction-${i}`;
    label.textContent = o.label;
    const input = document.createElement("input");
    input.type = "number";
    input.id = `prediction-${i}`;
    input.min = 0;
    input.max = 100;
    input.step = 0.1;
    input.inputMode = "decimal";
    input.dataset.outcome = o.outcome;
    const row = document.createElement("div");
    row.className = "guess";
    row.append(label, input, document.createTextNode(" %"));
    host.appendChild(row);
  });
  $("submit").addEventListener("click", submitProposal);
  loadSession();
  // Another group's proposals appear once the facilitator reveals them.
  setInterval(() => {
    if (document.visibilityState === "visible") loadSession();
  }, 5000);
}

async function submitProposal() {
  const prediction = {};
  for (const input of document.querySelectorAll("#prediction-fields input")) {
    if (input.value !== "") prediction[input.dataset.outcome] = Number(input.value) / 100;
  }
  const button = $("submit");
  button.disabled = true;
  $("proposal-status").textContent = "Simulating and saving your proposal…";
  try {
    const response = await fetch("/api/proposals", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Trajectoire-Key": KEY },
      body: JSON.stringify({ set: choices(), note: $("note").value, prediction }),
    });
    const answer = await response.json();
    if (response.status !== 201) {
      showProblems(answer.errors);
      $("proposal-status").textContent = "The proposal was not saved: see above.";
      return;
    }
    showProblems([]);
    $("note").value = "";
    for (const input of document.querySelectorAll("#prediction-fields input")) input.value = "";
    await loadSession();
    $("proposal-status").textContent = `Saved: proposal ${answer.id}, round ${answer.round}.`;
  } catch (e) {
    showProblems([{ message: `The server did not answer: ${e.message}. Your proposal may not be saved; submit it again.` }]);
    $("proposal-status").textContent = "";
  } finally {
    button.disabled = false;
  }
}

(async function start() {
  try {
    const response = await fetch("/api/scenario");
    state.scenario = await response.json();
  } catch (e) {
    showProblems([{ message: `The scenario could not be read: ${e.message}` }]);
    return;
  }
  const s = state.scenario;
  document.title = `${s.name} — trajectoire workshop`;
  $("title").textContent = `${s.name} — workshop`;
  const runs = $("runs");
  if (![...runs.options].some((o) => Number(o.value) === s.runs)) {
    const o = document.createElement("option");
    o.value = s.runs;
    o.textContent = `${s.runs.toLocaleString("en-GB")} (the file's)`;
    runs.appendChild(o);
  }
  for (const o of [...runs.options]) if (Number(o.value) > s.max_runs) o.remove();
  $("footer").textContent = `trajectoire ${s.version} · seed ${s.seed} · parameter values are illustrative, not calibrated.`;
  buildSliders();
  if (KEY) buildProposal();
  request();
})();
