//! Where the page finds its files: all relative to the page, so the site works under any
//! sub-path of any static host.

/// The model the page ships with, relative to the page so the site works under any sub-path.
pub const DEFAULT_MODEL_URL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_NAME: &str = "SmolLM2-135M-Instruct (Q4_1 GGUF)";

/// The axis file for a model URL: `axes/<model file stem>.axis.safetensors` (the shipped model
/// `models/SmolLM2-135M-Instruct.Q4_1.gguf` has `axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors`).
/// `None` when the URL does not name a `.gguf` file.
pub fn axis_url(model_url: &str) -> Option<String> {
    let path = model_url.split(['?', '#']).next()?;
    let file = path.rsplit('/').next()?;
    let stem = file.strip_suffix(".gguf")?;
    (!stem.is_empty()).then(|| format!("axes/{stem}.axis.safetensors"))
}

/// The page's connection rule, which the inference worker applies to every download itself: a
/// dedicated worker is not under the page's `<meta>` Content-Security-Policy (a static host
/// sends none for `worker.js`), so without this check a crafted `?model=` could make the worker
/// fetch what the page may not. Allowed: the page's own origin, and the https origin of the
/// model URL the page was opened with (`chosen_origin`, fixed when the worker starts — the same
/// two sources `www/csp.js` allows). `protocol` and `origin` are the target URL's, resolved
/// against the page.
pub fn connection_allowed(
    url: &str,
    protocol: &str,
    origin: &str,
    page_origin: &str,
    chosen_origin: Option<&str>,
) -> Result<(), String> {
    if origin == page_origin && origin != "null" {
        return Ok(());
    }
    if protocol != "https:" {
        return Err(format!(
            "“{url}” was not downloaded: besides this site, the page loads files only over https:// (the page's security policy)."
        ));
    }
    if chosen_origin == Some(origin) {
        return Ok(());
    }
    Err(format!(
        "“{url}” was not downloaded: the page may connect only to this site and to the site of the model it was opened with (its security policy). Open the page with ?model=<that address> to allow it."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_connects_only_where_the_page_may() {
        let page = "https://axis.example";
        let chosen = Some("https://models.example");
        let ok = |url, protocol, origin| connection_allowed(url, protocol, origin, page, chosen);
        assert!(ok("models/m.gguf", "https:", "https://axis.example").is_ok());
        assert!(
            ok(
                "https://models.example/m.gguf",
                "https:",
                "https://models.example"
            )
            .is_ok()
        );
        // Another https site, plain http elsewhere, data: and blob: of an opaque origin.
        let other = ok(
            "https://elsewhere.example/x",
            "https:",
            "https://elsewhere.example",
        );
        assert!(other.unwrap_err().contains("opened with"));
        let http = ok(
            "http://models.example/m.gguf",
            "http:",
            "http://models.example",
        );
        assert!(http.unwrap_err().contains("https://"));
        assert!(ok("data:,x", "data:", "null").is_err());
        assert!(connection_allowed("data:,x", "data:", "null", "null", None).is_err());
        // A page served over plain http (local development) still reaches its own files.
        assert!(
            connection_allowed(
                "models/m.gguf",
                "http:",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn the_axis_file_is_named_after_the_model_file() {
        assert_eq!(
            axis_url("models/SmolLM2-135M-Instruct.Q4_1.gguf").as_deref(),
            Some("axes/SmolLM2-135M-Instruct.Q4_1.axis.safetensors")
        );
        assert_eq!(
            axis_url("https://example.org/x/tiny.gguf?download=1").as_deref(),
            Some("axes/tiny.axis.safetensors")
        );
        assert_eq!(axis_url("models/weights.bin"), None);
        assert_eq!(axis_url("models/.gguf"), None);
    }
}
