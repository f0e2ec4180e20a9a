// The workshop page in a real headless Chromium (Debian's), driven by playwright-core.
//
//   node tests/browser/page.mjs TRAJECTOIRE_BINARY [SCREENSHOT_FOLDER]
//
// For one town (Grande-Synthe) and for the four-town network: starts `trajectoire serve`,
// loads the page, moves a slider with the keyboard, and checks that the charts are drawn
// again, that a hypothesis's verdict changes, that no script error happened and that no request
// left this machine; measures the time from a slider's release to the charts drawn (printed; the
// targets are checked on a release build, see benches/README.md). With a screenshot folder, it
// writes the page at a desktop and a phone size there. Prints a JSON summary; exits 1 on any
// failure, saying which.
import { spawn } from "node:child_process";
import { launch } from "./chromium.mjs";

const [binary, shots] = process.argv.slice(2);
if (!binary) {
  console.error("usage: node tests/browser/page.mjs TRAJECTOIRE_BINARY [SCREENSHOT_FOLDER]");
  process.exit(2);
}
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

function serve(file, port) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["serve", file, "--port", String(port), "--threads", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let said = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${said}`)), 30000);
    child.stdout.on("data", (d) => {
      said += d;
      if (said.includes("The workshop page is at")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr.on("data", (d) => (said += d));
    child.on("exit", (code) => reject(new Error(`the server exited (${code}): ${said}`)));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function renders(page) {
  return page.evaluate(() => window.__trajectoire.renders);
}

async function waitForRender(page, after) {
  await page.waitForFunction((n) => window.__trajectoire.renders > n, after, { timeout: 60000 });
  return page.evaluate(() => window.__trajectoire.lastMs);
}

async function session(browser, { file, port, slider, key, presses, verdictChanges, name }) {
  const server = await serve(file, port);
  const origin = `http://127.0.0.1:${port}`;
  const result = { name, times: [] };
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const outside = [];
    const errors = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin)) outside.push(r.url());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    if (process.env.TRACE) page.on("response", (r) => console.error("response", r.status(), r.url().slice(0, 120)));
    page.on("console", (m) => {
      // A request replaced by a newer one is answered 409 by design (the page drops it);
      // Chromium logs every 4xx answer, so that one is not a script error.
      if (m.type() === "error" && !m.text().includes("status of 409")) errors.push(m.text());
    });
    await page.goto(`${origin}/`);
    await waitForRender(page, 0);
    const before = await page.evaluate(() => ({
      charts: document.querySelector("#charts").innerHTML,
      verdicts: [...document.querySelectorAll("#hypotheses tbody td:last-child")].map((t) => t.textContent),
      sliders: document.querySelectorAll("#sliders input[type=range]").length,
    }));
    check(before.sliders > 0, `${name}: no slider on the page`);
    check(before.charts.includes("<svg"), `${name}: no chart drawn`);
    const input = page.locator(`input[type=range][data-index="${slider}"]`);
    check((await input.getAttribute("aria-valuetext")) !== null, `${name}: the slider has no aria-valuetext`);
    const labelled = await page.evaluate((i) => {
      const el = document.querySelector(`input[type=range][data-index="${i}"]`);
      return el.labels.length > 0 && el.labels[0].textContent.length > 0;
    }, slider);
    check(labelled, `${name}: the slider has no label`);
    // Moved with the keyboard, as a screen-reader user would.
    await input.focus();
    let n = await renders(page);
    await page.keyboard.press(key);
    result.times.push(await waitForRender(page, n));
    const after = await page.evaluate(() => ({
      charts: document.querySelector("#charts").innerHTML,
      verdicts: [...document.querySelectorAll("#hypotheses tbody td:last-child")].map((t) => t.textContent),
      differences: [...document.querySelectorAll("#differences li")].map((l) => l.textContent),
    }));
    check(after.charts !== before.charts, `${name}: the charts did not change`);
    if (verdictChanges) {
      check(
        JSON.stringify(after.verdicts) !== JSON.stringify(before.verdicts),
        `${name}: no verdict changed (${before.verdicts} → ${after.verdicts})`,
      );
    }
    check(after.differences.length > 0, `${name}: no difference told in words`);
    result.verdicts = { before: before.verdicts, after: after.verdicts };
    result.difference = after.differences[0];
    // More moves, one at a time, each timed.
    for (let i = 0; i < presses; i++) {
      n = await renders(page);
      // Away from the end the first key went to, then back.
      const away = key === "End" ? "ArrowLeft" : "ArrowRight";
      const back = key === "End" ? "ArrowRight" : "ArrowLeft";
      await page.keyboard.press(i % 2 === 0 ? away : back);
      result.times.push(await waitForRender(page, n));
    }
    // Ten moves at once: the stale requests are cancelled; the last one is drawn.
    n = await renders(page);
    for (let i = 0; i < 10; i++) await page.keyboard.press(key === "End" ? "ArrowLeft" : "ArrowRight");
    await waitForRender(page, n);
    await page.waitForTimeout(800);
    const burst = (await renders(page)) - n;
    check(burst < 10, `${name}: every one of 10 quick moves was drawn (${burst}): stale requests were not cancelled`);
    result.burst_renders = burst;
    const shown = await page.evaluate((i) => {
      const el = document.querySelector(`input[type=range][data-index="${i}"]`);
      return el.value;
    }, slider);
    result.final_value = Number(shown);
    // The exported scenario is a TOML file with the choice in it.
    const href = await page.locator("#downloads a").first().getAttribute("href");
    const exported = await page.evaluate(async (h) => (await fetch(h)).text(), href);
    check(exported.includes("workshop choice"), `${name}: the exported file does not carry the choice`);
    check(errors.length === 0, `${name}: script errors: ${errors.join("; ")}`);
    check(outside.length === 0, `${name}: requests left the machine: ${outside.join(", ")}`);
    result.median_ms = median(result.times);
    if (shots) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: `${shots}/workshop-${name}.png`, fullPage: false });
      await page.locator("#charts").scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector("#charts").scrollIntoView());
      await page.screenshot({ path: `${shots}/workshop-${name}-charts.png`, fullPage: false });
      await page.evaluate(() => window.scrollTo(0, 0));
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      const p2 = await phone.newPage();
      await p2.goto(`${origin}/`);
      await waitForRender(p2, 0);
      await p2.screenshot({ path: `${shots}/workshop-${name}-phone.png`, fullPage: false });
      await phone.close();
    }
    await context.close();
  } finally {
    server.kill();
  }
  return result;
}

const browser = await launch();
const results = [];
const only = process.env.ONLY;
try {
  if (!only || only === "grande-synthe") results.push(
    await session(browser, {
      name: "grande-synthe",
      file: "scenarios/grande-synthe.toml",
      port: 18731,
      slider: 0, // the shared narrative: to its lowest, perpetuation falls below 0.9
      key: "Home",
      presses: 6,
      verdictChanges: true,
    }),
  );
  if (!only || only === "villes-pairs") results.push(
    await session(browser, {
      name: "villes-pairs",
      file: "scenarios/villes-pairs.toml",
      port: 18732,
      slider: 1,
      key: "End",
      presses: 3,
      verdictChanges: false,
    }),
  );
} catch (e) {
  failures.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ results, failures }, null, 2));
process.exit(failures.length === 0 ? 0 : 1);
