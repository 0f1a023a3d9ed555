// The inference worker. It loads the same wasm module as the page and hands control to its
// `worker_main` export, which answers the page's messages (see src/worker/protocol.rs).
// Messages that arrive while the module is still loading are queued, then replayed.
const queued = [];
self.onmessage = (event) => queued.push(event);

try {
  const { default: init, worker_main } = await import("./assistant-axis-web.js");
  await init({ module_or_path: "./assistant-axis-web_bg.wasm" });
  worker_main();
  for (const event of queued) self.onmessage(event);
} catch (error) {
  self.postMessage(JSON.stringify({ type: "Failed", id: null, message: `the engine could not start in this browser: ${error}` }));
}
