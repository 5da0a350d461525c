// `lrt graph view`'s file in chromium, offline: it renders, makes no network request at all
// (file:// included, beyond the page itself), raises no error, and clicking a node shows its
// description. Usage: node graph_view.js FILE NODE EXPECTED_TEXT [SCREENSHOT]
"use strict";

const { launch, watch, check, clickNode } = require("./lib.js");
const { pathToFileURL } = require("url");

(async () => {
  const [file, node, expected, screenshot] = process.argv.slice(2);
  const { context, close } = await launch();
  try {
    await context.setOffline(true);
    const page = await context.newPage();
    // Generous: CI runs this on 2 loaded cores; the checks are about behaviour, not speed.
    page.setDefaultTimeout(120000);
    const seen = await watch(page);
    const url = pathToFileURL(file).href;
    await page.goto(url);
    await page.waitForSelector("#graph .lrtg-canvas");
    const status = await page.textContent("#graph .lrtg-status");
    check(/Showing \d+ of \d+ entities/.test(status), `status line: ${status}`);
    const shown = () => page.evaluate(() => document.getElementById("graph").lrtGraph.shown().length);
    const before = await shown();
    const total = Number(/of (\d+) entities/.exec(status)[1]);
    const details = await clickNode(page, "#graph", node);
    if (before < total) {
      // Clicking a node with hidden neighbours draws them, and the status line says so.
      const after = await shown();
      check(after > before, `clicking ${node} shows its hidden neighbours: ${before} -> ${after}`);
      check(status.includes("hidden"), `the status line says what is hidden: ${status}`);
    }
    check(details.includes(expected), `details of ${node} show ${expected}: ${details}`);
    check(details.includes("Source documents"), "details list source documents");
    if (screenshot) await page.screenshot({ path: screenshot });
    // Search by name selects the entity.
    await page.fill("#graph .lrtg-search", node.toLowerCase());
    await page.press("#graph .lrtg-search", "Enter");
    check((await page.textContent("#graph .lrtg-title")) === node, "search selects the entity");
    const others = seen.requests.filter((r) => r !== url);
    check(others.length === 0, `no request beyond the file: ${others.join(", ")}`);
    check(seen.errors.length === 0, `no errors: ${seen.errors.join("; ")}`);
    console.log(JSON.stringify({ ok: true, requests: seen.requests.length, status, before, after: await shown() }));
  } finally {
    await close();
  }
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
