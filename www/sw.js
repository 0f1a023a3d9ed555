// The app shell for offline use. Network first: online, every file comes fresh from the host
// (and the copy kept here is refreshed); offline, the copy kept here answers. The model and
// axis files are not handled here: the inference worker keeps them in its own cache
// (src/worker/model_cache.rs), which "Forget cached model" clears.
//
// Neither wasm module is fetched on install: a visitor runs one of the two (the threaded CPU
// one, 2.3 MB gzip, or the one with WebGPU, 5.4 MB), and fetching the other for every visitor
// would more than double a CPU visitor's download. The module a visit uses is kept as it
// passes through here, and on the visit that installs this worker (which it does not serve)
// the page's loader keeps it itself (www/page-loader.js).
const SHELL_CACHE = "assistant-axis-shell-v1"; // also named in www/page-loader.js
const SHELL = [
  "./",
  "./index.html",
  "./csp.js",
  "./boot-check.js",
  "./isolate.js",
  "./boot.js",
  "./style.css",
  "./worker.js",
  "./assistant-axis-web.js",
];

self.addEventListener("install", (event) => {
  // Best effort: a file missing (e.g. boot.js under `trunk serve`) must not stop the worker.
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) =>
      Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined)))
    ).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

function isModelFile(url) {
  return url.pathname.endsWith(".gguf") || url.pathname.endsWith(".safetensors");
}

// Cross-origin isolation on any static host: the page's CPU backend runs on several threads
// only with shared memory, which browsers allow only in a cross-origin isolated page, which
// needs these two headers on the page and its workers. Most static hosts cannot set headers, so
// this worker adds them to every file of the page it serves (www/isolate.js reloads a first
// visit once, so that the page itself comes through here). The page loads nothing from other
// origins but the model the visitor chose, which is fetched with CORS and so still allowed.
function withIsolation(response) {
  if (!response || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || isModelFile(url)) {
    return;
  }
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy)).catch(() => undefined);
        }
        return withIsolation(response);
      })
      .catch(() =>
        caches
          .match(request, { ignoreSearch: true })
          .then((hit) => hit || (request.mode === "navigate" ? caches.match("./index.html") : undefined))
          .then((hit) => (hit ? withIsolation(hit) : Response.error()))
      )
  );
});
