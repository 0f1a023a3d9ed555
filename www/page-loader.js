// The page's loader in a release build: `cargo xtask dist` writes it as dist/boot.js in place of
// trunk's, once it has built the threaded module (docs/threads.md).
//
// The page itself runs no model, so either module serves it. The threaded one (no WebGPU) is a
// third of the download; it needs a cross-origin isolated page, and a worker that runs WebGPU
// needs the other module anyway. So the page takes the threaded module when it is isolated, has
// cores to use, was not opened with `?threads=1`, and will most likely load the model on the
// CPU, guessed as the model panel will choose (below). The app starts its first worker on the
// same guess (`window.axisLikelyBackend`), so a CPU visitor's page and worker load only the
// threaded module, and a WebGPU visitor's only the other one.
const PREFERENCES_KEY = "assistant-axis/preferences"; // src/preferences.rs
const SHELL_CACHE = "assistant-axis-shell-v1"; // www/sw.js
const ADAPTER_WAIT_MS = 3000;

function rememberedBackend() {
  try {
    const backend = JSON.parse(localStorage.getItem(PREFERENCES_KEY) || "{}").backend;
    if (backend === "Cpu" || backend === "WebGpu") return backend;
  } catch (e) {
    // Unreadable preferences mean no preferences, as in the app.
  }
  return null;
}

// What the browser's WebGPU offers, read as src/platform/webgpu.rs reads it: "nothing",
// "software" (a fallback adapter such as SwiftShader), "hardware", or "unknown" when the
// adapter request takes too long to wait for. The request is left on `window` for the app's
// own WebGPU check, which then does not ask again.
async function gpuOffer() {
  if (!navigator.gpu) return "nothing";
  try {
    const late = new Promise((resolve) => setTimeout(() => resolve(undefined), ADAPTER_WAIT_MS));
    const request = navigator.gpu.requestAdapter();
    window.axisAdapterRequest = request;
    const adapter = await Promise.race([request, late]);
    if (adapter === undefined) return "unknown";
    if (!adapter) return "nothing";
    const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    return fallback ? "software" : "hardware";
  } catch (e) {
    return "nothing";
  }
}

// The backend the model panel will offer (src/backend_choice.rs, `default_backend`): the
// visitor's remembered choice, except WebGPU where there is no adapter; with no choice, WebGPU
// only on a hardware adapter. Unknown counts as WebGPU, whose module runs both backends.
async function likelyBackend() {
  const remembered = rememberedBackend();
  if (remembered === "Cpu") return "Cpu";
  const offer = await gpuOffer();
  if (remembered === "WebGpu") return offer === "nothing" ? "Cpu" : "WebGpu";
  return offer === "hardware" || offer === "unknown" ? "WebGpu" : "Cpu";
}

const backend = await likelyBackend();
window.axisLikelyBackend = backend;
const wantsThreads =
  (navigator.hardwareConcurrency || 1) > 1 &&
  new URLSearchParams(location.search).get("threads") !== "1" &&
  backend === "Cpu";
// A first visit on a host that sends no isolation headers is reloaded by www/isolate.js once
// the service worker controls it. Starting a module now would download one the reloaded page
// does not use (the single-thread one, as this page is not isolated yet), so a CPU visitor's
// page waits for that reload; it goes on only if none comes.
if (wantsThreads && self.crossOriginIsolated !== true && window.axisIsolationReload) {
  await window.axisIsolationReload;
}
const threaded = wantsThreads && self.crossOriginIsolated === true;

async function start(base) {
  const wasmUrl = new URL(`${base}assistant-axis-web_bg.wasm`, location.href).href;
  const bindings = await import(`${base}assistant-axis-web.js`);
  const wasm = await bindings.default({ module_or_path: await fetchKept(wasmUrl) });
  return { bindings, wasm };
}

// The service worker (www/sw.js) keeps every file of the page it serves for offline visits, but
// it serves nothing on the visit that installs it. It no longer fetches a module on install
// (each visitor needs only one of the two), so on that visit the page keeps what it loaded
// itself: the module's bytes from this one download, the small files by fetching them again.
const uncontrolled = "serviceWorker" in navigator && !navigator.serviceWorker.controller;

async function fetchKept(url) {
  const response = await fetch(url);
  if (uncontrolled && response.ok && self.caches) {
    const copy = response.clone();
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.put(url, copy))
      .catch((error) => console.info(`not kept for offline use: ${url} (${error})`));
  }
  return response;
}

function keepLoadedFiles() {
  if (!uncontrolled || !self.caches) return;
  const files = performance
    .getEntriesByType("resource")
    .map((entry) => new URL(entry.name))
    .filter((url) => url.origin === location.origin && !/\.(gguf|safetensors|wasm)$/.test(url.pathname))
    .map((url) => url.origin + url.pathname);
  caches
    .open(SHELL_CACHE)
    .then((cache) => Promise.all([...new Set(files)].map((url) => cache.add(url).catch(() => undefined))))
    .catch(() => undefined);
}

let started;
if (threaded) {
  try {
    started = await start("./threads/");
    window.axisPageModule = "threads";
  } catch (error) {
    console.info(`the page runs the single-thread module (the threaded one did not start: ${error})`);
  }
}
if (!started) {
  started = await start("./");
  window.axisPageModule = "single-thread";
}
keepLoadedFiles();
window.wasmBindings = started.bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", { detail: { wasm: started.wasm } }));
