// Shared by the browser tests: launch Debian's chromium through playwright-core with the
// flags a closed network needs, and collect console errors, page errors, CSP violations and
// every request the page makes.
"use strict";

const path = require("path");
const fs = require("fs");
const os = require("os");

function playwright() {
  return require(path.join(process.env.LRT_TEST_PLAYWRIGHT, "playwright-core"));
}

async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lrt-chromium-"));
  const context = await playwright().chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.LRT_TEST_CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const close = async () => {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

// Watches a page: console errors, uncaught exceptions, CSP violations, requests.
async function watch(page) {
  const seen = { errors: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") seen.errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.errors.push(`page error: ${e.message}`));
  page.on("request", (r) => seen.requests.push(r.url()));
  page.on("response", (r) => {
    if (r.status() >= 400) seen.errors.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return seen;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// Clicks the node `name` of the explorer in `root` (a selector) and waits for its details.
async function clickNode(page, root, name) {
  const pos = await page.evaluate(
    ([sel, n]) => document.querySelector(sel).lrtGraph.position(n),
    [root, name],
  );
  check(pos, `node ${name} is drawn`);
  await page.mouse.click(pos.x, pos.y);
  await page.waitForFunction(
    ([sel, n]) => {
      const t = document.querySelector(`${sel} .lrtg-title`);
      return t && t.textContent === n;
    },
    [root, name],
    { timeout: 60000 },
  );
  return page.textContent(`${root} .lrtg-details`);
}

module.exports = { launch, watch, check, clickNode };
