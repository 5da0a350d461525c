// The lrt web console: sign in, pick a tenant and KB, ask, upload, list and delete
// documents, explore the graph. Every action is a call of the REST API under /api/v1 with the
// caller's credential, so the server decides access exactly as for any other client. The
// credential is kept in session storage (this tab only) and sent in a header, never in a URL.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const STORE = "lrt.credential";
  const DELETE_ROLES = ["admin", "editor"];
  const UPLOAD_ROLES = ["admin", "editor"];
  const READ_ROLES = ["admin", "editor", "viewer"];
  const state = { cred: null, me: null, tenant: null, kb: null, role: null, polls: new Map() };

  const el = LrtGraph.el;

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (state.cred && state.cred.value) {
      if (state.cred.kind === "key") h["X-API-Key"] = state.cred.value;
      else h["Authorization"] = "Bearer " + state.cred.value;
    }
    if (state.tenant) h["X-Tenant-ID"] = state.tenant.id;
    if (state.kb) h["X-KB-ID"] = state.kb.id;
    return h;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
    }
  }

  async function api(method, path, body, raw) {
    const init = { method, headers: headers(), credentials: "omit", cache: "no-store" };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (raw && res.ok) return res;
    let json = null;
    try {
      json = await res.json();
    } catch (_) {
      json = null;
    }
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }

  const kbPath = (rest) => `/api/v1/tenants/${state.tenant.id}/kbs/${state.kb.id}${rest}`;
  const can = (roles) => state.me && (state.me.super_admin || roles.includes(state.role));

  // ---- sign in -------------------------------------------------------------------------
  async function signIn(cred) {
    state.cred = cred;
    state.tenant = state.kb = null;
    try {
      state.me = await api("GET", "/api/v1/me");
    } catch (e) {
      state.cred = null;
      sessionStorage.removeItem(STORE);
      showError(e.status === 401 ? "Sign-in failed: the credential was not accepted." : `Sign-in failed: ${e.message}`);
      return;
    }
    sessionStorage.setItem(STORE, JSON.stringify(cred));
    showError("");
    $("who").textContent = `Signed in as ${state.me.user}${state.me.super_admin ? " (super-admin)" : ""}${state.me.api_key_id ? " with API key " + state.me.api_key_id : ""}`;
    $("signin").hidden = true;
    $("signout").hidden = false;
    $("app").hidden = false;
    await loadTenants();
  }

  function signOut() {
    sessionStorage.removeItem(STORE);
    state.polls.forEach((t) => clearTimeout(t));
    state.polls.clear();
    Object.assign(state, { cred: null, me: null, tenant: null, kb: null, role: null, tenants: [], kbs: [] });
    // Nothing of the signed-out user stays on the page (the next sign-in fills these afresh).
    fillSelect($("tenant"), [], () => "");
    fillSelect($("kb"), [], () => "");
    $("cred-value").value = "";
    $("who").textContent = "";
    clearPanels();
    showError("");
    $("signout").hidden = true;
    $("app").hidden = true;
    $("signin").hidden = false;
  }

  function fillSelect(select, items, label) {
    select.textContent = "";
    for (const item of items) {
      const o = el("option", null, label(item));
      o.value = item.id;
      select.append(o);
    }
  }

  async function loadTenants() {
    let tenants;
    try {
      tenants = (await api("GET", "/api/v1/tenants?page_size=1000")).items;
    } catch (e) {
      return showError(`Cannot list tenants: ${e.message}`);
    }
    state.tenants = tenants.map((t) => ({ id: t.tenant_id, name: t.tenant_name }));
    if (!state.tenants.length) {
      // A key limited to one KB lists no tenant; its membership names its own.
      state.tenants = (state.me.memberships || []).map((m) => ({ id: m.tenant_id, name: m.tenant_name }));
    }
    fillSelect($("tenant"), state.tenants, (t) => t.name);
    if (!state.tenants.length) {
      $("role").textContent = "You are not a member of any tenant.";
      return selectTenant(null);
    }
    await selectTenant(state.tenants[0].id);
  }

  async function selectTenant(id) {
    state.tenant = (state.tenants || []).find((t) => t.id === id) || null;
    state.kb = null;
    fillSelect($("kb"), [], () => "");
    if (!state.tenant) return selectKb(null);
    const m = (state.me.memberships || []).find((m) => m.tenant_id === state.tenant.id);
    state.role = m ? m.role : null;
    let kbs;
    try {
      const only = state.me.api_key_kb_id;
      if (only) {
        // A key limited to one KB may not list its tenant's KBs: it reads its own.
        state.kb = { id: only };
        kbs = [await api("GET", `/api/v1/tenants/${state.tenant.id}/kbs/${only}`)];
        state.kb = null;
      } else {
        kbs = (await api("GET", `/api/v1/tenants/${state.tenant.id}/kbs?page_size=1000`)).items;
      }
    } catch (e) {
      state.kb = null;
      showError(`Cannot list the knowledge bases: ${e.message}`);
      return selectKb(null);
    }
    state.kbs = kbs.map((k) => ({ id: k.kb_id, name: k.kb_name }));
    fillSelect($("kb"), state.kbs, (k) => k.name);
    await selectKb(state.kbs.length ? state.kbs[0].id : null);
  }

  async function selectKb(id) {
    state.kb = (state.kbs || []).find((k) => k.id === id) || null;
    const role = state.me.super_admin ? "super-admin" : state.role || "no role";
    $("role").textContent = state.kb ? `Your role here: ${role}` : "No knowledge base to show.";
    clearPanels();
    $("drop").hidden = !can(UPLOAD_ROLES);
    for (const b of document.querySelectorAll(".tab")) b.disabled = !state.kb;
    if (state.kb) await showTab(currentTab);
  }

  // Forgets what the panels show (another KB, or another user).
  function clearPanels() {
    state.confirmDelete = null;
    for (const id of ["answer", "references", "uploads", "docs", "docs-total", "graph", "ask-state"]) $(id).textContent = "";
    delete $("graph").lrtGraph;
  }

  // ---- tabs ----------------------------------------------------------------------------
  let currentTab = "ask";
  async function showTab(name) {
    currentTab = name;
    for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
    for (const t of ["ask", "documents", "graph"]) $("tab-" + t).hidden = t !== name;
    if (!state.kb) return;
    if (name === "documents") await loadDocuments();
    if (name === "graph" && !$("graph").lrtGraph) await loadGraph();
  }

  // ---- ask -----------------------------------------------------------------------------
  async function ask(ev) {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question || !state.kb) return;
    const answer = $("answer");
    const refs = $("references");
    answer.textContent = "";
    refs.textContent = "";
    $("ask").disabled = true;
    $("ask-state").textContent = "Thinking…";
    showError("");
    try {
      const res = await api("POST", kbPath("/query/stream"), { question, mode: $("mode").value }, true);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (value) buffer += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) handleEvent(JSON.parse(line));
        }
        if (done) break;
      }
      $("ask-state").textContent = "Done.";
    } catch (e) {
      $("ask-state").textContent = "";
      showError(`The question failed: ${e.message}`);
    } finally {
      $("ask").disabled = false;
    }
  }

  function handleEvent(ev) {
    if (ev.type === "chunk") {
      $("answer").append(document.createTextNode(ev.text));
    } else if (ev.type === "result") {
      const r = ev.result;
      if (r.answer) $("answer").textContent = r.answer;
      const refs = $("references");
      refs.textContent = "";
      for (const ref of r.references || []) {
        const pages = (ref.pages || []).map((p) => (p[0] === p[1] ? `p. ${p[0]}` : `pp. ${p[0]}–${p[1]}`));
        const li = el("li", ref.cited ? "cited" : null, `[${ref.reference_id}] ${ref.file_path}${pages.length ? " (" + pages.join(", ") + ")" : ""}`);
        refs.append(li);
      }
      if (!(r.references || []).length) refs.append(el("li", "note", "no references"));
    } else if (ev.type === "error") {
      showError(`The answer stopped: ${ev.error.message}`);
    }
  }

  // ---- documents -----------------------------------------------------------------------
  async function loadDocuments() {
    const body = $("docs");
    if (!can(READ_ROLES)) {
      body.textContent = "";
      $("docs-total").textContent = "Your role cannot list documents.";
      return;
    }
    let page;
    try {
      page = await api("GET", kbPath("/documents?page_size=200"));
    } catch (e) {
      return showError(`Cannot list documents: ${e.message}`);
    }
    body.textContent = "";
    $("docs-total").textContent = `${page.total} in all${page.total > page.items.length ? `, ${page.items.length} most recent shown` : ""}`;
    for (const d of page.items) {
      const tr = el("tr");
      tr.dataset.doc = d.doc_id;
      tr.append(el("td", null, d.file_path), el("td", "status-" + d.status, d.status), el("td", null, String(d.chunks_count)), el("td", null, d.updated_at || ""));
      const cell = el("td");
      if (can(DELETE_ROLES)) {
        // A refresh of the list (an upload's status poll) keeps a pending confirmation.
        const confirming = state.confirmDelete === d.doc_id;
        const b = el("button", "danger delete", confirming ? "Confirm delete" : "Delete");
        b.type = "button";
        if (confirming) b.dataset.confirm = "yes";
        b.addEventListener("click", () => deleteDocument(d, b));
        cell.append(b);
      }
      tr.append(cell);
      body.append(tr);
    }
  }

  async function deleteDocument(d, button) {
    if (button.dataset.confirm !== "yes") {
      button.dataset.confirm = "yes";
      button.textContent = "Confirm delete";
      state.confirmDelete = d.doc_id;
      return;
    }
    state.confirmDelete = null;
    button.disabled = true;
    // 409: the KB's ingest lock is held (an upload's run finishing, another delete): the
    // server answers at once rather than holding the request, so ask again for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        await api("DELETE", kbPath(`/documents/${encodeURIComponent(d.doc_id)}`));
        showError("");
      } catch (e) {
        if (e.status === 409 && attempt < 60) {
          showError(`${d.file_path}: the knowledge base is busy; deleting when it is free…`);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        showError(`Cannot delete ${d.file_path}: ${e.message}`);
      }
      break;
    }
    await loadDocuments();
  }

  async function upload(files) {
    showError("");
    for (const file of files) {
      const li = el("li", null, `${file.name}: uploading…`);
      $("uploads").append(li);
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        const up = await api("POST", kbPath("/documents/file"), form);
        track(li, file.name, up.doc_id, up.status, up.duplicate);
      } catch (e) {
        li.textContent = `${file.name}: refused (${e.message})`;
        li.className = "status-failed";
      }
    }
    await loadDocuments();
  }

  // Polls a document's status until it is processed or failed.
  function track(li, name, docId, status, duplicate) {
    li.textContent = `${name}: ${status}${duplicate ? " (already in this knowledge base)" : ""}`;
    li.className = "status-" + status;
    li.dataset.doc = docId;
    if (status === "processed" || status === "failed" || !can(READ_ROLES)) {
      if (status === "processed" || status === "failed") loadDocuments();
      return;
    }
    const kb = state.kb;
    const timer = setTimeout(async () => {
      state.polls.delete(docId);
      if (state.kb !== kb) return;
      try {
        const d = await api("GET", kbPath(`/documents/${encodeURIComponent(docId)}`));
        const err = d.error ? ` (${d.document.error})` : "";
        track(li, name, docId, d.status, false);
        if (err) li.textContent += err;
      } catch (e) {
        li.textContent = `${name}: status unknown (${e.message})`;
      }
    }, 700);
    state.polls.set(docId, timer);
  }

  // ---- graph ---------------------------------------------------------------------------
  async function loadGraph(ev) {
    if (ev) ev.preventDefault();
    const box = $("graph");
    if (!can(READ_ROLES)) {
      box.textContent = "Your role cannot read the graph.";
      return;
    }
    const params = new URLSearchParams({ max_nodes: $("graph-max").value || "150" });
    const entity = $("graph-entity").value.trim();
    if (entity) {
      params.set("entity", entity);
      params.set("depth", $("graph-depth").value || "2");
    }
    try {
      const data = await api("GET", kbPath(`/graph/view?${params}`));
      LrtGraph.mount(box, data);
    } catch (e) {
      showError(`Cannot load the graph: ${e.message}`);
    }
  }

  // ---- wiring --------------------------------------------------------------------------
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn({ kind: $("cred-kind").value, value: $("cred-value").value.trim() });
  });
  $("signout").addEventListener("click", signOut);
  $("tenant").addEventListener("change", (ev) => selectTenant(ev.target.value));
  $("kb").addEventListener("change", (ev) => selectKb(ev.target.value));
  for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("ask-form").addEventListener("submit", ask);
  $("refresh-docs").addEventListener("click", loadDocuments);
  $("graph-form").addEventListener("submit", loadGraph);
  $("file").addEventListener("change", (ev) => {
    upload(Array.from(ev.target.files));
    ev.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    upload(Array.from(ev.dataTransfer.files));
  });

  const saved = sessionStorage.getItem(STORE);
  if (saved) {
    try {
      signIn(JSON.parse(saved));
    } catch (_) {
      sessionStorage.removeItem(STORE);
    }
  }
})();
