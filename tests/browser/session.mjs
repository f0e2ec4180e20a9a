// A workshop session of peer groups in a real headless Chromium (Debian's), driven by
// playwright-core: three group pages and the facilitator's page, each in its own browser
// context (as on four machines).
//
//   node tests/browser/session.mjs TRAJECTOIRE_BINARY SESSION_FILE [SCREENSHOT_FOLDER]
//
// Starts `trajectoire serve` with three groups; each group moves a slider with the keyboard,
// writes its reasons (one of them a hostile note full of markup), predicts, and submits; the
// facilitator's page shows the three side by side, where they agree and diverge, and their
// futures drawn together; a reveal shows each group the others' proposals. Checks that the
// hostile note is shown as text and runs nothing, that no script error happened and that no
// request left the machine. Prints a JSON summary; exits 1 on any failure, saying which.
import { spawn } from "node:child_process";
import { launch } from "./chromium.mjs";

const [binary, sessionFile, shots] = process.argv.slice(2);
if (!binary || !sessionFile) {
  console.error("usage: node tests/browser/session.mjs TRAJECTOIRE_BINARY SESSION_FILE [SCREENSHOT_FOLDER]");
  process.exit(2);
}
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script> we trust the staff`;

function serve() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      ["serve", "scenarios/grande-synthe.toml", "--port", "0", "--threads", "2", "--runs", "300",
        "--groups", "elected,staff,actors", "--session", sessionFile],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let said = "";
    const links = {};
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${said}`)), 30000);
    child.stdout.on("data", (d) => {
      said += d;
      for (const line of said.split("\n")) {
        const m = line.match(/^([a-z]+): (http:\/\/\S+)$/);
        if (m) links[m[1]] = m[2];
      }
      if (links.facilitator) {
        clearTimeout(timer);
        resolve({ child, links });
      }
    });
    child.stderr.on("data", (d) => (said += d));
    child.on("exit", (code) => reject(new Error(`the server exited (${code}): ${said}`)));
  });
}

async function open(browser, url, origin, viewport = { width: 1400, height: 1000 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const watch = { outside: [], errors: [] };
  page.on("request", (r) => {
    if (!r.url().startsWith(origin)) watch.outside.push(r.url());
  });
  page.on("pageerror", (e) => watch.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("status of 409")) watch.errors.push(m.text());
  });
  await page.goto(url);
  return { context, page, watch };
}

const browser = await launch();
const { child, links } = await serve();
const origin = new URL(links.facilitator).origin;
const summary = { groups: {}, facilitator: {} };
try {
  const groups = [
    { name: "elected", slider: 0, key: "End", note: "La coopération entre élus et services tient sur la durée." },
    { name: "staff", slider: 0, key: "Home", note: HOSTILE },
    { name: "actors", slider: 1, key: "End", note: "Entrepreneurs follow when the canteens buy local." },
  ];
  const pages = {};
  for (const g of groups) {
    const p = await open(browser, links[g.name], origin);
    pages[g.name] = p;
    const { page } = p;
    await page.waitForFunction(() => window.__trajectoire.renders > 0, null, { timeout: 60000 });
    await page.waitForSelector("#proposal:not([hidden])");
    const title = await page.textContent("#proposal-title");
    check(title.includes(g.name), `${g.name}: the proposal panel does not name the group (${title})`);
    const n = await page.evaluate(() => window.__trajectoire.renders);
    await page.locator(`input[type=range][data-index="${g.slider}"]`).focus();
    await page.keyboard.press(g.key);
    await page.waitForFunction((k) => window.__trajectoire.renders > k, n, { timeout: 60000 });
    await page.fill("#note", g.note);
    await page.fill("#prediction-1", "42");
    await page.click("#submit");
    await page.waitForFunction(() => document.querySelector("#proposal-status").textContent.startsWith("Saved"), null, { timeout: 60000 });
    const mine = await page.$$eval("#mine > li", (items) => items.map((i) => i.textContent));
    check(mine.length === 1, `${g.name}: its proposal is not listed (${mine.length})`);
    check(mine[0] && mine[0].includes("predicted 42.0%"), `${g.name}: its prediction is not shown against the result: ${mine[0]}`);
    summary.groups[g.name] = mine[0];
  }
  // The staff's note is text on its own page.
  const staffNote = await pages.staff.page.textContent("#mine blockquote");
  check(staffNote === HOSTILE, `staff: the note is not shown as written: ${staffNote}`);

  const f = await open(browser, links.facilitator, origin);
  await f.page.waitForFunction(
    () => document.querySelectorAll("#side thead th").length === 4 && !document.querySelector("#side thead").textContent.includes("no proposal yet"),
    null,
    { timeout: 60000 },
  );
  await f.page.waitForFunction(() => window.__trajectoire.renders > 0, null, { timeout: 120000 });
  const side = await f.page.evaluate(() => ({
    heads: [...document.querySelectorAll("#side thead th")].map((t) => t.textContent),
    notes: [...document.querySelectorAll("#side blockquote")].map((q) => q.textContent),
    rows: [...document.querySelectorAll("#side tbody th")].map((t) => t.textContent),
    agreement: [...document.querySelectorAll("#agreement li")].map((l) => l.textContent),
    charts: document.querySelectorAll("#charts svg").length,
    differences: [...document.querySelectorAll("#differences-table thead th")].map((t) => t.textContent),
  }));
  summary.facilitator = side;
  check(side.heads.slice(1).every((h, i) => h.startsWith(groups[i].name)), `facilitator: the groups are not side by side: ${side.heads}`);
  check(side.notes.includes(HOSTILE), `facilitator: the hostile note is not shown as text: ${side.notes}`);
  check(side.rows.some((r) => r.includes("perpetuation")), `facilitator: no perpetuation row: ${side.rows}`);
  check(side.agreement.some((a) => a.includes("diverge")), `facilitator: elected raised and staff lowered the same slider, yet no divergence: ${side.agreement}`);
  check(side.charts > 0, "facilitator: the groups' futures are not drawn");
  check(side.differences.length === 4, `facilitator: the paired differences do not list the three groups: ${side.differences}`);
  if (shots) await f.page.screenshot({ path: `${shots}/workshop-facilitator.png`, fullPage: false });

  // A reveal: every group sees the others' proposals.
  await f.page.click("#reveal");
  await pages.elected.page.waitForFunction(() => document.querySelectorAll("#others > li").length === 2, null, { timeout: 20000 });
  const others = await pages.elected.page.$$eval("#others > li", (items) => items.map((i) => i.textContent));
  check(others.some((o) => o.includes(HOSTILE)), `elected: the others' proposals do not show staff's note as text: ${others}`);
  if (shots) {
    await pages.elected.page.locator("#proposal").scrollIntoViewIfNeeded();
    await pages.elected.page.screenshot({ path: `${shots}/workshop-group.png`, fullPage: false });
  }

  for (const [name, p] of [...Object.entries(pages), ["facilitator", f]]) {
    const pwned = await p.page.evaluate(() => window.__pwned === 1 || document.title === "pwned");
    check(!pwned, `${name}: the hostile note ran`);
    check(p.watch.errors.length === 0, `${name}: script errors: ${p.watch.errors.join(" | ")}`);
    check(p.watch.outside.length === 0, `${name}: requests left the machine: ${p.watch.outside.join(", ")}`);
  }
} catch (e) {
  failures.push(`stopped: ${e.stack || e}`);
} finally {
  child.kill("SIGINT");
  await browser.close();
}
console.log(JSON.stringify({ summary, failures }, null, 1));
process.exit(failures.length === 0 ? 0 : 1);
