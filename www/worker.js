// The inference worker. It loads the same wasm module as the page and hands control to its
// `worker_main` export, which answers the page's messages (see src/worker/protocol.rs).
// Messages that arrive while the module is still loading are queued, then replayed.
// worker.js writes no protocol message itself: it calls into the module, which does.
const queued = [];
// The module's `worker_device_lost`, once the module is loaded (the device is asked for by the
// module, so it cannot be lost before).
let reportDeviceLost = null;

// WebGPU device loss (a driver reset, the GPU process crashing, or `destroy()`): keep the
// device burn asks for, and tell the page when it is lost, so that it can restart the engine on
// the CPU and keep the conversation. `axisLoseDevice` destroys it on purpose (the page's
// `simulate_device_loss`, used by the browser test).
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.axisDevice = device;
    device.lost.then((info) => {
      if (self.axisDevice === device) self.axisDevice = null;
      reportDeviceLost?.(String(info.reason || "unknown"), String(info.message || ""));
    });
    return device;
  };
}
self.axisLoseDevice = () => {
  if (!self.axisDevice) return false;
  self.axisDevice.destroy();
  return true;
};

self.onmessage = (event) => queued.push(event);

// The CPU backend's threads. `dist/threads/` holds a second build of the module with shared
// memory and a rayon pool, and no WebGPU (docs/threads.md). The page asks for it with
// `?threads=N` (N >= 2) when it loads a model on the CPU in a cross-origin isolated page; where
// it is missing (`cargo xtask serve`, `dist --fast`) or fails to start, the single-thread
// module runs, and the model panel says "1 thread".
function threadsAsked() {
  const asked = Number(new URLSearchParams(self.location.search).get("threads"));
  return Number.isInteger(asked) && asked >= 2 && asked <= 64 ? asked : 1;
}

async function loadThreaded(threads) {
  const module = await import("./threads/assistant-axis-web.js");
  await module.default({ module_or_path: "./threads/assistant-axis-web_bg.wasm" });
  await module.initThreadPool(threads);
  return module;
}

async function loadSingleThread() {
  const module = await import("./assistant-axis-web.js");
  await module.default({ module_or_path: "./assistant-axis-web_bg.wasm" });
  return module;
}

async function loadModule() {
  const threads = threadsAsked();
  if (threads > 1) {
    if (!self.crossOriginIsolated) {
      console.info("CPU backend: one thread (the page is not cross-origin isolated)");
    } else {
      try {
        const module = await loadThreaded(threads);
        self.axisCpuThreads = threads;
        return module;
      } catch (error) {
        console.info(`CPU backend: one thread (the threaded module did not start: ${error})`);
      }
    }
  }
  self.axisCpuThreads = 1;
  return loadSingleThread();
}

try {
  const { worker_main, worker_device_lost } = await loadModule();
  reportDeviceLost = worker_device_lost;
  worker_main();
  for (const event of queued) self.onmessage(event);
} catch (error) {
  // Without the module there is nobody to speak the protocol: the error reaches the page as the
  // worker's `error` event, which the page shows.
  throw new Error(`the engine could not start in this browser: ${error}`);
}
