// The inference worker. It loads the same wasm module as the page and hands control to its
// `worker_main` export, which answers the page's messages (see src/worker/protocol.rs).
// Messages that arrive while the module is still loading are queued, then replayed.
const queued = [];

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
      self.postMessage(JSON.stringify({ type: "DeviceLost", reason: String(info.reason || "unknown"), message: String(info.message || "") }));
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

try {
  const { default: init, worker_main } = await import("./assistant-axis-web.js");
  await init({ module_or_path: "./assistant-axis-web_bg.wasm" });
  worker_main();
  for (const event of queued) self.onmessage(event);
} catch (error) {
  self.postMessage(JSON.stringify({ type: "Failed", id: null, message: `the engine could not start in this browser: ${error}` }));
}
