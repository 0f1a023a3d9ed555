// Runs before the app: the app's wasm module uses WebAssembly 128-bit SIMD (burn's CPU kernels,
// see .cargo/config.toml), so a browser without it would fail to compile the module and show a
// blank page. Such a browser gets a sentence instead. The check compiles a 31-byte module whose
// one function uses two SIMD instructions (i32.const 0; i8x16.splat; i8x16.popcnt).
(function () {
  var simd = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]);
  var ok = typeof WebAssembly === "object" && typeof WebAssembly.validate === "function" && WebAssembly.validate(simd);
  if (ok) return;
  var show = function () {
    var p = document.createElement("p");
    p.setAttribute("data-testid", "boot-unsupported");
    p.className = "boot-unsupported";
    p.textContent =
      "This page runs a language model in your browser and needs WebAssembly with 128-bit SIMD " +
      "(Chrome or Edge 91+, Firefox 89+, Safari 16.4+). This browser does not have it.";
    document.body.appendChild(p);
  };
  if (document.body) show();
  else document.addEventListener("DOMContentLoaded", show);
})();
