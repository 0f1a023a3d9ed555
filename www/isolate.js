// Runs before the app. The CPU backend uses every core only in a cross-origin isolated page
// (shared memory, docs/threads.md). A host that sends the COOP/COEP headers itself gives that
// at once; on any other host the service worker (sw.js) adds them, but only to pages it serves,
// and it does not serve the visit that installs it. So on such a visit, once the service worker
// controls the page, reload once, early, before the visitor has done anything. sessionStorage
// keeps it to one reload per tab, so a browser that ignores the headers is not sent round in a
// loop; `?threads=1` asks for one thread and never reloads.
(function () {
  var KEY = "assistant-axis-isolation-reload";
  if (self.crossOriginIsolated || !window.isSecureContext || !("serviceWorker" in navigator)) return;
  if ((navigator.hardwareConcurrency || 1) < 2) return;
  if (new URLSearchParams(location.search).get("threads") === "1") return;
  try {
    if (sessionStorage.getItem(KEY)) return;
  } catch (e) {
    return; // storage refused (privacy settings): no reload guard, so no reload
  }
  var reload = function () {
    try {
      sessionStorage.setItem(KEY, "1");
    } catch (e) {
      return;
    }
    location.reload();
  };
  if (navigator.serviceWorker.controller) {
    // Controlled but not isolated: this page load came from before the headers (an older sw.js).
    window.axisIsolationReload = new Promise(function () {}); // the page is going away
    reload();
    return;
  }
  navigator.serviceWorker.addEventListener("controllerchange", reload, { once: true });
  // The page's loader (www/page-loader.js) waits for this before it loads a module the reload
  // would replace: it resolves only if no reload comes (the worker failed to install, or took
  // longer than a visitor should wait), and the page then starts as it is.
  window.axisIsolationReload = new Promise(function (resolve) {
    setTimeout(resolve, 10000);
    navigator.serviceWorker.register("sw.js").catch(resolve);
  });
})();
