//! Locks the release page down with a Content-Security-Policy (issue "Hardening").
//!
//! Trunk writes its wasm loader as an inline `<script type="module">`, which a policy without
//! `'unsafe-inline'` would block. After `trunk build --release` this moves that script into
//! `dist/boot.js` and puts a `<meta>` policy at the top of `<head>` that allows scripts only
//! from the page's own origin (plus `'wasm-unsafe-eval'` to compile the wasm module). Then
//! `csp.js` (www/csp.js, the first script) adds a second policy that narrows `connect-src` to
//! the page's origin plus the origin of the model URL the visitor chose (`?model=`); a browser
//! enforces both policies, so the page can only connect there.
//!
//! `trunk serve` (development, with its live-reload inline script) is left without a policy.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The static policy. `connect-src` still allows https origins here; `csp.js` narrows it to the
/// chosen model's origin at load time. Styles: the stylesheet from 'self', and `style=`
/// attributes (the heatmap's colours, set by the app) through `style-src-attr`.
pub const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self' https:; \
worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

const INLINE_MODULE: &str = "<script type=\"module\">";

/// Rewrites `dist/index.html` in place and writes `dist/boot.js`.
pub fn lock_down(dist: &Path) -> Result<()> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index)
        .with_context(|| format!("cannot read {}", index.display()))?;
    if !dist.join("csp.js").is_file() {
        bail!("dist/csp.js is missing: www/index.html must copy www/csp.js");
    }
    let (html, boot) = externalise_loader(&html)?;
    std::fs::write(dist.join("boot.js"), boot).context("cannot write dist/boot.js")?;
    std::fs::write(&index, html).with_context(|| format!("cannot write {}", index.display()))?;
    Ok(())
}

/// (new index.html, boot.js): the inline loader moved out, the policy and `csp.js` put first in
/// `<head>`. Fails if any other inline script is left, rather than ship a page that the policy
/// would break.
pub fn externalise_loader(html: &str) -> Result<(String, String)> {
    if html.contains("Content-Security-Policy") {
        bail!("index.html already has a Content-Security-Policy (lock_down ran twice?)");
    }
    let start = html
        .find(INLINE_MODULE)
        .context("trunk's inline loader <script type=\"module\"> is not in index.html")?;
    let body_start = start + INLINE_MODULE.len();
    let end = html[body_start..]
        .find("</script>")
        .map(|i| body_start + i)
        .context("the inline loader script is not closed")?;
    let boot = html[body_start..end].trim().to_owned() + "\n";
    let mut out = String::with_capacity(html.len() + 400);
    out.push_str(&html[..start]);
    out.push_str("<script type=\"module\" src=\"./boot.js\"></script>");
    out.push_str(&html[end + "</script>".len()..]);
    if let Some(left) = inline_script(&out) {
        bail!("index.html has another inline script, which the policy would block: {left}");
    }
    let head = out.find("<head>").context("index.html has no <head>")? + "<head>".len();
    let first = format!(
        "\n    <meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\" />\
         \n    <script src=\"./csp.js\"></script>"
    );
    out.insert_str(head, &first);
    Ok((out, boot))
}

/// The start of the first `<script …>` without a `src` attribute, if any.
fn inline_script(html: &str) -> Option<String> {
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |j| i + j + 1);
        let tag = &rest[i..tag_end];
        if !tag.contains(" src=") {
            return Some(rest[i..(i + 80).min(rest.len())].to_owned());
        }
        rest = &rest[tag_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUNK_OUTPUT: &str = "<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset=\"utf-8\" />\n\
<script type=\"module\">\nimport init from './app.js';\nawait init();\n</script>\n\
<link rel=\"stylesheet\" href=\"./style.css\"/>\n  </head>\n  <body></body>\n</html>\n";

    #[test]
    fn the_loader_moves_out_and_the_policy_comes_first() {
        let (html, boot) = externalise_loader(TRUNK_OUTPUT).expect("rewrite");
        assert_eq!(boot, "import init from './app.js';\nawait init();\n");
        assert!(html.contains("<script type=\"module\" src=\"./boot.js\"></script>"));
        assert!(!html.contains("await init"));
        let csp = html.find("Content-Security-Policy").expect("policy");
        let csp_js = html.find("./csp.js").expect("csp.js");
        let boot_js = html.find("./boot.js").expect("boot.js");
        assert!(
            csp < csp_js && csp_js < boot_js,
            "policy, then csp.js, then the app"
        );
        assert!(inline_script(&html).is_none());
    }

    #[test]
    fn refuses_pages_it_cannot_lock_down_honestly() {
        assert!(externalise_loader("<html><head></head></html>").is_err());
        let two = TRUNK_OUTPUT.replace("<body>", "<body><script>alert(1)</script>");
        let err = externalise_loader(&two).expect_err("second inline script");
        assert!(err.to_string().contains("another inline script"), "{err}");
        let (once, _) = externalise_loader(TRUNK_OUTPUT).expect("rewrite");
        assert!(externalise_loader(&once).is_err(), "twice");
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_plugin() {
        let directive = |name: &str| -> Vec<&str> {
            POLICY
                .split(';')
                .map(str::split_whitespace)
                .find_map(|mut words| (words.next() == Some(name)).then(|| words.collect()))
                .unwrap_or_default()
        };
        assert_eq!(directive("script-src"), ["'self'", "'wasm-unsafe-eval'"]);
        assert_eq!(directive("default-src"), ["'self'"]);
        // Inline styles only as attributes (set by the app), never <style> elements.
        assert_eq!(directive("style-src"), ["'self'"]);
        assert!(POLICY.contains("object-src 'none'"));
    }

    /// Model output and file contents reach the page only as text: no source of the app (Rust
    /// or JavaScript) uses an API that parses markup.
    #[test]
    fn the_app_never_writes_markup() {
        let root = crate::process::repo_root();
        let mut files = Vec::new();
        for dir in ["src", "www"] {
            collect(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "scanned {} files", files.len());
        let banned = [
            "inner_html",
            "innerHTML",
            "outer_html",
            "outerHTML",
            "insertAdjacentHTML",
            "insert_adjacent_html",
            "document.write",
            "createContextualFragment",
        ];
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for word in banned {
                assert!(
                    !text.contains(word),
                    "{} uses {word}: render text nodes instead",
                    file.display()
                );
            }
        }
    }

    fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "js" || e == "html")
            {
                out.push(path);
            }
        }
    }
}
