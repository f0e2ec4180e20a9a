// A report (`trajectoire report`) in a real headless Chromium with the network off.
//
//   node tests/browser/report.mjs REPORT.html [SCREENSHOT.png] [PRINT.pdf]
//
// Opens the file with JavaScript disabled and every request other than the file itself
// blocked, then checks: no request was attempted, every section is there, every figure's SVG
// has a size on the page (it is drawn, not broken), the print layout is A4. Prints a JSON
// summary; exits 1 on any failure, saying which.
import { launch } from "./chromium.mjs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [file, shot, pdf] = process.argv.slice(2);
if (!file) {
  console.error("usage: node tests/browser/report.mjs REPORT.html [SCREENSHOT.png] [PRINT.pdf]");
  process.exit(2);
}
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const url = pathToFileURL(resolve(file)).href;
const browser = await launch();
const summary = {};
try {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    offline: true,
    viewport: { width: 1100, height: 900 },
  });
  const page = await context.newPage();
  const others = [];
  await page.route("**/*", (route) => {
    if (route.request().url() === url) return route.continue();
    others.push(route.request().url());
    return route.abort();
  });
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(url);
  const seen = await page.evaluate(() => ({
    title: document.title,
    sections: [...document.querySelectorAll("h2")].map((h) => h.id),
    figures: [...document.querySelectorAll("figure svg")].map((s) => {
      const r = s.getBoundingClientRect();
      return [Math.round(r.width), Math.round(r.height)];
    }),
    verdicts: [...document.querySelectorAll(".verdict")].map((v) => v.textContent),
    scripts: document.querySelectorAll("script").length,
    text: document.body.innerText.length,
  }));
  Object.assign(summary, seen);
  check(others.length === 0, `requests were attempted: ${others.join(", ")}`);
  check(errors.length === 0, `console errors: ${errors.join("; ")}`);
  check(seen.scripts === 0, "the report has a script");
  for (const id of ["summary", "dashboard", "plots", "phases", "territory", "reproduce"]) {
    check(seen.sections.includes(id), `no section #${id}`);
  }
  check(seen.figures.length >= 6, `only ${seen.figures.length} figures`);
  check(
    seen.figures.every(([w, h]) => w > 300 && h > 150),
    `a figure is not drawn at a readable size: ${JSON.stringify(seen.figures)}`,
  );
  if (shot) await page.screenshot({ path: shot, fullPage: Boolean(process.env.FULL) });
  if (pdf) {
    await page.emulateMedia({ media: "print" });
    const bytes = await page.pdf({ path: pdf, preferCSSPageSize: true });
    const text = bytes.toString("latin1");
    const pages = (text.match(/\/Type\s*\/Page[^s]/g) || []).length;
    const box = text.match(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/);
    summary.pdf_pages = pages;
    summary.media_box = box ? [Number(box[1]), Number(box[2])] : null;
    // A4 is 595 × 842 points.
    check(box && Math.abs(Number(box[1]) - 595) < 2 && Math.abs(Number(box[2]) - 842) < 2, `the print is not A4: ${box && box[0]}`);
    check(pages >= 3, `the print has ${pages} pages`);
  }
  await context.close();
} catch (e) {
  failures.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ summary, failures }, null, 2));
process.exit(failures.length === 0 ? 0 : 1);
