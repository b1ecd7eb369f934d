// The Stream Interruption Records page in a real browser (Debian's Chromium, driven by
// playwright-core): run by tests/browser.rs against a receiver it filled with known callbacks.
//
// Usage: node tests/browser/page.mjs ADMIN_URL EXPECTED_JSON SCREENSHOT_DIR
// Exits 0 when every check holds; otherwise prints what failed and exits 1.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, expectedJson, shots] = process.argv.slice(2);
const expected = JSON.parse(expectedJson);
mkdirSync(shots, { recursive: true });

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
const page = await context.newPage();

// Every request the page makes, and every console error or dialog (a script that ran).
const hosts = new Set();
page.on("request", (request) => hosts.add(new URL(request.url()).hostname));
const errors = [];
page.on("console", (message) => {
  if (message.type() === "error") errors.push(message.text());
});
page.on("pageerror", (error) => errors.push(String(error)));
const dialogs = [];
page.on("dialog", async (dialog) => {
  dialogs.push(dialog.message());
  await dialog.dismiss();
});

const text = async (selector) => (await page.locator(selector).first().textContent())?.trim();

// The overview.
await page.goto(`${base}/?lang=en`);
check((await text("#live-count")) === String(expected.live), `live count ${await text("#live-count")} != ${expected.live}`);
check((await text("#total")) === String(expected.total), `total ${await text("#total")} != ${expected.total}`);
const rows = await page.locator("#interruptions tbody tr").count();
check(rows === expected.total, `${rows} table rows, expected ${expected.total}`);
const liveRows = await page.locator("#live tbody tr").count();
check(liveRows === expected.live, `${liveRows} live rows, expected ${expected.live}`);
const bars = await page.locator("#chart svg rect").count();
check(bars > 0, "the chart has no bar");
// The stream named like a script shows as text, and no script ran.
const liveText = await page.locator("#live").textContent();
check(liveText.includes(expected.odd_stream), "the odd stream name is not shown as text");
check((await page.locator("script").count()) === 0, "the page holds a script element");
await page.screenshot({ path: `${shots}/overview.png`, fullPage: false });

// Filter by category with the form, as a person would: the URL keeps the filter.
await page.selectOption("select[name=category]", "network");
await Promise.all([page.waitForURL(/category=network/), page.click("form.filters button[type=submit]")]);
check((await text("#total")) === String(expected.network), `network total ${await text("#total")} != ${expected.network}`);
const categories = await page.locator("#interruptions tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.category));
check(categories.length > 0 && categories.every((c) => c === "network"), `filtered rows: ${categories}`);
// A shared link opens the same view.
const shared = await context.newPage();
await shared.goto(page.url());
check((await shared.locator("#total").textContent()).trim() === String(expected.network), "the shared link shows another view");
await shared.close();

// Chinese, from the language links.
await page.click("header nav a:text-is('zh')");
check((await page.locator("html").getAttribute("lang")) === "zh", "the zh link did not switch the language");
check((await page.locator("h1").textContent()).includes("断流记录"), "the zh title is missing");

// One stream's page: primary and backup side by side, each a push on the timeline.
await page.goto(`${base}/?lang=en`);
await Promise.all([page.waitForURL(/\/streams\//), page.click(`#live a:text-is('${expected.pair_stream}')`)]);
check((await text("#lanes")) === "2", `lanes ${await text("#lanes")} != 2`);
check((await page.locator("#timeline rect.push").count()) === 2, "the timeline does not show both pushes");
check((await page.locator("#pushes tbody tr").count()) === 2, "the table does not list both pushes");
await page.screenshot({ path: `${shots}/stream.png`, fullPage: false });

check([...hosts].every((h) => h === "127.0.0.1"), `requests left 127.0.0.1: ${[...hosts]}`);
check(errors.length === 0, `console errors: ${errors.join(" | ")}`);
check(dialogs.length === 0, `a dialog opened (a script ran): ${dialogs}`);
await browser.close();

if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`ok: ${[...hosts].join(",")}; screenshots in ${shots}`);
