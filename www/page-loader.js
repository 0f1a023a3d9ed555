// The page's loader in a release build: `cargo xtask dist` writes it as dist/boot.js in place of
// trunk's, once it has built the threaded module (docs/threads.md).
//
// The page itself runs no model, so either module serves it. The threaded one (no WebGPU) is a
// third of the download; it needs a cross-origin isolated page, and a worker that runs WebGPU
// needs the other module anyway. So the page takes the threaded module when it is isolated, has
// cores to use, was not opened with `?threads=1`, and will most likely load the model on the
// CPU: the backend last used in this browser, else the CPU where the browser has no WebGPU at
// all. The app starts its first worker on the same guess (`window.axisLikelyBackend`), so a CPU
// visitor's page and worker load only the threaded module.
const PREFERENCES_KEY = "assistant-axis/preferences"; // src/preferences.rs

function likelyBackend() {
  try {
    const backend = JSON.parse(localStorage.getItem(PREFERENCES_KEY) || "{}").backend;
    if (backend === "Cpu" || backend === "WebGpu") return backend;
  } catch (e) {
    // Unreadable preferences mean no preferences, as in the app.
  }
  return navigator.gpu ? "WebGpu" : "Cpu";
}

const backend = likelyBackend();
window.axisLikelyBackend = backend;
const threaded =
  self.crossOriginIsolated === true &&
  (navigator.hardwareConcurrency || 1) > 1 &&
  new URLSearchParams(location.search).get("threads") !== "1" &&
  backend === "Cpu";

async function start(base) {
  const bindings = await import(`${base}assistant-axis-web.js`);
  const wasm = await bindings.default({ module_or_path: `${base}assistant-axis-web_bg.wasm` });
  return { bindings, wasm };
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
window.wasmBindings = started.bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", { detail: { wasm: started.wasm } }));
