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

try {
  const { default: init, worker_main, worker_device_lost } = await import("./assistant-axis-web.js");
  await init({ module_or_path: "./assistant-axis-web_bg.wasm" });
  reportDeviceLost = worker_device_lost;
  worker_main();
  for (const event of queued) self.onmessage(event);
} catch (error) {
  // Without the module there is nobody to speak the protocol: the error reaches the page as the
  // worker's `error` event, which the page shows.
  throw new Error(`the engine could not start in this browser: ${error}`);
}
