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

#[cfg(test)]
mod tests {
    use super::*;

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
