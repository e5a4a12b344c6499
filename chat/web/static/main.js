// cipherchat's page: boot Pyodide from ./pyodide/, unpack our own wheel into it, hand the page to Python.
// Nothing is loaded from the internet: every path is relative to this page, so a local copy works
// as the relay's copy does. The chat itself (the form's checks, the keys, the crypto, the words)
// is the Python of chat/web/page.py over the terminal clients' application core.

const times = {};
const state = { times, ready: false, failed: null, page: null, pyodide: null, bundle: null };
window.cipherchat = state;

const $ = (id) => document.getElementById(id);

function status(text, kind = "busy") {
  const line = $("status");
  line.textContent = text;
  line.className = `status status-${kind}`;
}

function mark(name) {
  times[name] = performance.now();
}

async function sha256Hex(buffer) {
  if (!(window.crypto && crypto.subtle)) return null; // not a secure context: nothing to check with
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchOk(url, what) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`cannot fetch ${what} (${url}): HTTP ${response.status}`);
  return response;
}

async function boot() {
  mark("start");
  status("loading Python (Pyodide)…");
  const base = new URL("./", document.baseURI);
  const { loadPyodide } = await import(new URL("pyodide/pyodide.mjs", base).href);
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", base).href, packages: [] });
  state.pyodide = pyodide;
  mark("python");

  status("fetching cipherchat…");
  const bundle = await (await fetchOk(new URL("bundle.json", base), "the bundle")).json();
  state.bundle = bundle;
  const wheel = await (await fetchOk(new URL(`wheels/${bundle.wheel}`, base), "the wheel")).arrayBuffer();
  const expected = bundle.files && bundle.files[`/wheels/${bundle.wheel}`];
  if (!expected) throw new Error("bundle.json does not list the wheel's SHA-256");
  const actual = await sha256Hex(wheel);
  if (actual && expected !== actual) {
    throw new Error(`the wheel's SHA-256 is ${actual}, not the ${expected} bundle.json gives`);
  }
  mark("fetched");

  status("unpacking cipherchat…");
  pyodide.unpackArchive(wheel, "wheel");
  pyodide.runPython("import os; os.environ['CIPHERCHAT_BIGINT'] = 'int'");
  mark("unpacked");

  status("starting cipherchat…");
  const module = pyodide.pyimport("chat.web.page");
  const page = await module.boot(document, window.localStorage, location.protocol, location.host);
  state.page = page;
  $("bundle").textContent = bundle.sha256 ? `client bundle SHA-256 ${bundle.sha256}` : "";
  bind(page);
  mark("ready");
  state.ready = true;
}

function bind(page) {
  $("join").disabled = false;
  $("export").disabled = false;
  $("import-file").disabled = false;

  $("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("join").disabled = true;
    try {
      if (await page.join()) $("say").focus();
    } finally {
      $("join").disabled = false;
    }
  });
  $("alias").addEventListener("input", () => page.alias_changed());
  $("cipher").addEventListener("change", () => page.suite_note());

  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("say").value;
    if (!text.trim()) return;
    $("say").value = "";
    page.submit(text);
  });
  $("quit").addEventListener("click", () => page.quit());
  $("safety-close").addEventListener("click", () => page.close_safety());

  document.addEventListener("click", (event) => {
    const tab = event.target.closest("[data-panel]");
    if (tab) page.show_panel(tab.dataset.panel);
    const button = event.target.closest("[data-command]");
    if (button) {
      page.command(button.dataset.command);
      if (button.id === "safety-trust") page.close_safety();
    }
  });

  $("export").addEventListener("click", () => {
    const data = page.export_identity();
    if (data === undefined || data === null) return;
    const bytes = data.toJs();
    data.destroy();
    const alias = ($("alias").value || "identity").trim();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([bytes], { type: "application/zip" }));
    link.download = `cipherchat-identity-${alias}.zip`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  });

  $("import-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    page.import_identity(bytes);
    event.target.value = "";
  });
}

boot().catch((error) => {
  state.failed = String(error && error.message ? error.message : error);
  status(`could not start: ${state.failed}`, "error");
  console.error(error);
});
