// The web console of `lrt serve` in chromium. Usage: node console.js CONFIG_JSON where the
// JSON has base, admin_token and viewer_token (users of tenant A), tenant_a, kb_a,
// tenant_b_id, kb_b_id, foreign (names of tenant B and its KB that A's viewer must never see),
// upload (a file to upload), entity and entity_text (a node to click and a word of its
// description), reference (a file the answer must cite) and screenshots (a folder, optional).
"use strict";

const fs = require("fs");
const path = require("path");
const { launch, watch, check, clickNode } = require("./lib.js");

const cfg = JSON.parse(process.argv[2]);

async function signIn(page, token, kind) {
  await page.selectOption("#cred-kind", kind || "token");
  await page.fill("#cred-value", token);
  await page.click("#signin-button");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForFunction(() => document.querySelectorAll("#kb option").length > 0);
}

async function pick(page, tenant, kb) {
  await page.selectOption("#tenant", { label: tenant });
  await page.waitForFunction((k) => Array.from(document.querySelectorAll("#kb option")).some((o) => o.textContent === k), kb);
  await page.selectOption("#kb", { label: kb });
  await page.waitForFunction(() => document.getElementById("role").textContent.startsWith("Your role"));
}

async function optionTexts(page, sel) {
  return page.$$eval(`${sel} option`, (os) => os.map((o) => o.textContent));
}

(async () => {
  const { context, close } = await launch();
  try {
    const page = await context.newPage();
    // Generous: CI runs this on 2 loaded cores; the checks are about behaviour, not speed.
    page.setDefaultTimeout(120000);
    const seen = await watch(page);
    const res = await page.goto(cfg.base + "/");
    const csp = res.headers()["content-security-policy"] || "";
    for (const d of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      check(csp.includes(d), `CSP has ${d}: ${csp}`);
    }
    check(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), "no unsafe sources");
    check(res.headers()["x-content-type-options"] === "nosniff", "nosniff");

    // An admin of tenant A: sign in, pick the KB.
    await signIn(page, cfg.admin_token);
    check(!page.url().includes(cfg.admin_token), "the token is not in the URL");
    const stored = await page.evaluate(() => sessionStorage.getItem("lrt.credential"));
    check(stored && stored.includes(cfg.admin_token), "the token is kept in session storage");
    check(!(await page.evaluate(() => document.cookie)), "no cookie");
    await pick(page, cfg.tenant_a, cfg.kb_a);

    // Ask: the answer streams in (several chunks), then the references.
    await page.fill("#question", "What did Marie Curie discover?");
    await page.selectOption("#mode", "mix");
    await page.click("#ask");
    await page.waitForFunction(() => document.getElementById("ask-state").textContent === "Done.", null, { timeout: 120000 });
    const answer = await page.textContent("#answer");
    check(answer.includes(cfg.entity_text), `the answer mentions ${cfg.entity_text}: ${answer}`);
    // Each streamed chunk is appended as a text node of its own.
    const pieces = await page.evaluate(() => document.getElementById("answer").childNodes.length);
    check(pieces > 1, `the answer was streamed in pieces: ${pieces}`);
    const refs = await page.textContent("#references");
    check(refs.includes(cfg.reference), `references name ${cfg.reference}: ${refs}`);
    if (cfg.screenshots) await page.screenshot({ path: path.join(cfg.screenshots, "console.png") });

    // Upload by drag and drop, then watch it get processed.
    await page.click('.tab[data-tab="documents"]');
    await page.waitForSelector("#drop:not([hidden])");
    const name = path.basename(cfg.upload);
    const content = fs.readFileSync(cfg.upload, "utf8");
    const dataTransfer = await page.evaluateHandle(
      ([n, c]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([c], n, { type: "text/markdown" }));
        return dt;
      },
      [name, content],
    );
    await page.dispatchEvent("#drop", "drop", { dataTransfer });
    await page.waitForSelector("#uploads li.status-processed", { timeout: 120000 });
    const uploads = await page.textContent("#uploads");
    check(uploads.includes(`${name}: processed`), `upload processed: ${uploads}`);
    await page.waitForFunction((n) => document.getElementById("docs").textContent.includes(n), name);

    // The graph: click a node, see its description.
    await page.click('.tab[data-tab="graph"]');
    await page.waitForSelector("#graph .lrtg-canvas");
    const details = await clickNode(page, "#graph", cfg.entity);
    check(details.includes(cfg.entity_text), `node details: ${details}`);

    // The admin may delete: the uploaded document goes away.
    await page.click('.tab[data-tab="documents"]');
    const row = `#docs tr:has(td:text-is("${name}"))`;
    await page.click(`${row} button.delete`);
    await page.click(`${row} button.delete`);
    await page.waitForFunction((n) => !document.getElementById("docs").textContent.includes(n), name, { timeout: 120000 });

    // A viewer of tenant A: sees A only, no delete, no upload.
    await page.click("#signout");
    check(!(await page.evaluate(() => sessionStorage.getItem("lrt.credential"))), "sign-out forgets the token");
    await signIn(page, cfg.viewer_token);
    const tenants = await optionTexts(page, "#tenant");
    check(JSON.stringify(tenants) === JSON.stringify([cfg.tenant_a]), `viewer's tenants: ${tenants}`);
    await pick(page, cfg.tenant_a, cfg.kb_a);
    await page.click('.tab[data-tab="documents"]');
    await page.waitForFunction(() => document.getElementById("docs").children.length > 0);
    check((await page.$$("#docs button.delete")).length === 0, "no delete button for a viewer");
    check(await page.isHidden("#drop"), "no upload for a viewer");
    await page.click('.tab[data-tab="graph"]');
    await page.waitForSelector("#graph .lrtg-canvas");
    const text = (await page.textContent("body")).toLowerCase();
    for (const f of cfg.foreign) check(!text.includes(f.toLowerCase()), `the viewer sees nothing of ${f}`);

    // A viewer's API key limited to the KB: signs in, gets its one KB, no delete.
    await page.click("#signout");
    await signIn(page, cfg.kb_key, "key");
    check(JSON.stringify(await optionTexts(page, "#kb")) === JSON.stringify([cfg.kb_a]), "the key's KB only");
    await pick(page, cfg.tenant_a, cfg.kb_a);
    check((await page.textContent("#role")).includes("viewer"), "the key's role");
    await page.click('.tab[data-tab="documents"]');
    await page.waitForFunction(() => document.getElementById("docs").children.length > 0);
    check((await page.$$("#docs button.delete")).length === 0, "no delete button for a viewer's key");
    check(seen.requests.every((r) => !r.includes(cfg.kb_key)), "the key is in no URL");

    // What the page would send with the viewer's credential is refused by the server too.
    const scoped = (t, k) => ({ Authorization: `Bearer ${cfg.viewer_token}`, "X-Tenant-ID": t, "X-KB-ID": k });
    const headers = scoped(cfg.tenant_a_id, cfg.kb_a_id);
    const docs = await (await fetch(`${cfg.base}/api/v1/tenants/${cfg.tenant_a_id}/kbs/${cfg.kb_a_id}/documents`, { headers })).json();
    const del = await fetch(`${cfg.base}/api/v1/tenants/${cfg.tenant_a_id}/kbs/${cfg.kb_a_id}/documents/${docs.items[0].doc_id}`, { method: "DELETE", headers });
    check(del.status === 403, `a viewer's delete is refused: ${del.status}`);
    const foreign = await fetch(`${cfg.base}/api/v1/tenants/${cfg.tenant_b_id}/kbs/${cfg.kb_b_id}/graph/view`, { headers: scoped(cfg.tenant_b_id, cfg.kb_b_id) });
    check(foreign.status === 404, `tenant B's graph is not found for A's viewer: ${foreign.status}`);

    const origin = new URL(cfg.base).origin;
    const outside = seen.requests.filter((r) => new URL(r).origin !== origin);
    check(outside.length === 0, `requests only to the server: ${outside.join(", ")}`);
    check(seen.requests.every((r) => !r.includes(cfg.admin_token) && !r.includes(cfg.viewer_token)), "no credential in a URL");
    check(seen.errors.length === 0, `no errors: ${seen.errors.join("; ")}`);
    console.log(JSON.stringify({ ok: true, requests: seen.requests.length }));
  } finally {
    await close();
  }
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
