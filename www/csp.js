// Narrows the page's Content-Security-Policy (the <meta> policy that `cargo xtask dist` puts in
// index.html) so that the page connects only to its own origin and to the origin of the model
// URL the visitor chose with `?model=`. A second policy can only restrict, never widen, so the
// static policy stays in force for everything else. See xtask/src/csp.rs.
(function () {
  var sources = ["'self'"];
  var chosen = new URLSearchParams(location.search).get("model");
  if (chosen) {
    try {
      var url = new URL(chosen, location.href);
      if (url.origin !== location.origin && (url.protocol === "https:" || url.protocol === "http:")) {
        sources.push(url.origin);
      }
    } catch (e) {
      // Not a URL: the app reports it when it tries to load it.
    }
  }
  var meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = "connect-src " + sources.join(" ");
  document.head.appendChild(meta);
})();
