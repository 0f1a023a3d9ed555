//! The compatibility check a model file passes before the worker spends time and memory on it:
//! the GGUF header is parsed (no tensor data is decoded) and the file is refused, with a
//! sentence saying why, when it is not a GGUF, not a Llama-family model, uses tensor types the
//! engine cannot decode, or is larger than the page can hold.

use engine::chat_template::{ChatMessage, ChatTemplate};
use engine::gguf::{GgmlType, Gguf, GgufError};
use engine::model::LlamaConfig;

use super::protocol::WireModelInfo;

/// Larger files are refused: with the weights and their decoded copy they would not fit a tab.
pub const MAX_MODEL_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

/// The architectures `engine::model` runs (its `Architecture`).
const SUPPORTED: [&str; 2] = ["llama", "qwen2"];

/// What the visitor can run: the sentence that ends every refusal.
const WHAT_RUNS: &str = "this page runs Llama-family GGUF chat models (architecture `llama`, e.g. SmolLM2, TinyLlama, Llama 3.2; or `qwen2`) of up to 2 GB";

/// Checks `bytes`, the whole file named `name`; the error is a sentence for the page.
pub fn check(bytes: &[u8], name: &str) -> Result<WireModelInfo, String> {
    let size = bytes.len() as f64;
    if size > MAX_MODEL_BYTES {
        return Err(too_large(name, size));
    }
    let gguf = Gguf::parse(bytes).map_err(|e| match e {
        GgufError::BadMagic { found, hint } => not_gguf(name, &found, &hint, ""),
        other => format!("{name} is not a readable GGUF file: {other}."),
    })?;
    let architecture = gguf
        .get_str_opt("general.architecture")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_owned();
    if architecture.is_empty() {
        return Err(format!(
            "{name} is a GGUF file without `general.architecture`, so it is not a model this page can run; {WHAT_RUNS}."
        ));
    }
    if !SUPPORTED.contains(&architecture.as_str()) {
        return Err(format!(
            "{name} is a `{architecture}` model, an architecture this engine does not implement; {WHAT_RUNS}."
        ));
    }
    // Tensor types first: for a file in a quantization the engine cannot decode, "choose
    // another quantization" is the useful answer, whatever else is wrong with it.
    let unsupported = unsupported_types(&gguf);
    if !unsupported.is_empty() {
        let decodable: Vec<&str> = GgmlType::dequantizable().map(GgmlType::name).collect();
        return Err(format!(
            "{name} stores tensors as {}, which this engine cannot decode (it reads {}); choose another quantization of the model (e.g. Q4_K_M, Q8_0 or F16).",
            unsupported.join(", "),
            decodable.join(", ")
        ));
    }
    // The engine's own validation, the one `LlamaModel::from_gguf` runs before loading: every
    // number is checked against the tensors in the file (block count, widths, heads,
    // vocabulary) and bounded (context length, epsilon, RoPE base), so a hostile header is
    // refused here with the key it got wrong, not when the worker sizes something by it.
    let config = LlamaConfig::from_gguf(&gguf).map_err(|e| {
        format!("{name} declares `{architecture}` but its settings cannot be used: {e}.")
    })?;
    let parameters: u64 = gguf.tensors.iter().map(|t| t.n_elements()).sum();
    let model_name = gguf
        .get_str_opt("general.name")
        .ok()
        .flatten()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(WireModelInfo {
        name: model_name.unwrap_or_else(|| name.to_owned()),
        file_name: name.to_owned(),
        architecture,
        parameters,
        n_layers: config.n_layers,
        hidden_size: config.hidden_size,
        context_length: config.context_length,
        file_type: file_type(&gguf),
        file_bytes: size,
    })
}

/// Runs the file's chat template on the conversations the load itself renders (the "Hi" of the
/// warm-up and the WebGPU check) and on a system prompt with two turns, so that a template that
/// fails, or that never finishes (the page's time limit, `FromWorker::TemplateStarted`), stops
/// the load before the model held now is dropped. The error is a sentence for the page.
pub fn try_template(bytes: &[u8], name: &str) -> Result<(), String> {
    let refuse = |e: &dyn std::fmt::Display| format!("{name}'s chat template cannot be used: {e}.");
    let gguf = Gguf::parse(bytes).map_err(|e| refuse(&e))?;
    let template = ChatTemplate::from_gguf(&gguf).map_err(|e| refuse(&e))?;
    let conversations = [
        vec![ChatMessage::user("Hi")],
        vec![
            ChatMessage::system("You are a helpful assistant."),
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello! How can I help?"),
            ChatMessage::user("What is the capital of France?"),
        ],
    ];
    for messages in &conversations {
        template.render(messages, true).map_err(|e| refuse(&e))?;
    }
    Ok(())
}

/// The refusal for a file over [`MAX_MODEL_BYTES`] (also used before downloading or reading).
pub fn too_large(name: &str, size: f64) -> String {
    format!(
        "{name} is {:.1} GB; this page holds model files up to 2 GB (a browser tab cannot hold more with the weights decoded): choose a smaller model or a smaller quantization.",
        size / 1e9
    )
}

/// Whether the first bytes of a download already show it is no GGUF (an HTML page instead of
/// the file, say): the sentence to stop with, else `None` (too short to tell, or a GGUF).
pub fn refuse_early(first_bytes: &[u8], name: &str) -> Option<String> {
    if first_bytes.len() < 4 {
        return None;
    }
    match Gguf::parse(first_bytes) {
        Err(GgufError::BadMagic { found, hint }) => {
            let html = first_bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'<');
            let advice = if html {
                " — a web page, not the file itself: for Hugging Face use the file's `resolve` link (…/resolve/main/<file>.gguf), not its `blob` page"
            } else {
                ""
            };
            Some(not_gguf(name, &found, &hint, advice))
        }
        _ => None,
    }
}

/// `x.bin is not a GGUF model file (it starts with bytes 50 4B 03 04; …)`.
fn not_gguf(name: &str, found: &[u8], hint: &str, advice: &str) -> String {
    let bytes: Vec<String> = found.iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "{name} is not a GGUF model file (it starts with bytes {}{hint}){advice}; {WHAT_RUNS}.",
        bytes.join(" ")
    )
}

/// Tensor types the engine cannot decode, with how many tensors use each (`IQ2_XXS (180
/// tensors)`).
fn unsupported_types(gguf: &Gguf) -> Vec<String> {
    let mut counts: Vec<(GgmlType, usize)> = Vec::new();
    for t in gguf
        .tensors
        .iter()
        .filter(|t| !t.ggml_type.can_dequantize())
    {
        match counts.iter_mut().find(|(ty, _)| *ty == t.ggml_type) {
            Some((_, n)) => *n += 1,
            None => counts.push((t.ggml_type, 1)),
        }
    }
    counts
        .into_iter()
        .map(|(ty, n)| {
            let plural = if n == 1 { "" } else { "s" };
            format!("{ty} ({n} tensor{plural})")
        })
        .collect()
}

/// llama.cpp's name for `general.file_type` when the file says, else the tensor type holding
/// most of the bytes.
fn file_type(gguf: &Gguf) -> String {
    let named = gguf
        .get_u32_opt("general.file_type")
        .ok()
        .flatten()
        .and_then(ftype_name);
    if let Some(name) = named {
        return name.to_owned();
    }
    let mut bytes: Vec<(GgmlType, u64)> = Vec::new();
    for t in &gguf.tensors {
        match bytes.iter_mut().find(|(ty, _)| *ty == t.ggml_type) {
            Some((_, b)) => *b += t.n_bytes,
            None => bytes.push((t.ggml_type, t.n_bytes)),
        }
    }
    bytes
        .into_iter()
        .max_by_key(|(_, b)| *b)
        .map_or_else(|| "no tensors".to_owned(), |(ty, _)| ty.to_string())
}

/// llama.cpp's `llama_ftype` names.
fn ftype_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        _ => return None,
    })
}

/// `135M`, `1.24B`: a parameter count as model cards write it.
pub fn format_parameters(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2}B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.0}M", n / 1e6)
    } else {
        format!("{:.0}K", n / 1e3)
    }
}

impl WireModelInfo {
    /// One line for the page: `llama · 135M parameters · 30 layers · context 8192 · Q4_1`.
    pub fn summary(&self) -> String {
        format!(
            "{} · {} parameters · {} layers · context {} · {}",
            self.architecture,
            format_parameters(self.parameters),
            self.n_layers,
            self.context_length,
            self.file_type
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::gguf::{GgufWriter, MetadataValue};

    /// A complete tiny llama GGUF (every tensor the engine reads, as F32 zeros, for 2 blocks
    /// of width 32 = 4 heads × 8, MLP 64, 3 tokens), with metadata `overrides` written in place
    /// of the defaults. With a `ty` other than F32, one extra tensor of that type is added.
    fn tiny_with(arch: &str, ty: GgmlType, overrides: &[(&str, MetadataValue)]) -> Vec<u8> {
        let mut meta: Vec<(String, MetadataValue)> = vec![
            ("general.architecture".into(), arch.into()),
            ("general.name".into(), "Tiny Test".into()),
            ("tokenizer.ggml.tokens".into(), vec!["a", "b", "c"].into()),
            (
                format!("{arch}.attention.layer_norm_rms_epsilon"),
                1e-5f32.into(),
            ),
        ];
        for (k, v) in [
            ("block_count", 2u32),
            ("embedding_length", 32),
            ("feed_forward_length", 64),
            ("attention.head_count", 4),
            ("context_length", 128),
        ] {
            meta.push((format!("{arch}.{k}"), v.into()));
        }
        for (key, value) in overrides {
            meta.retain(|(k, _)| k != key);
            meta.push(((*key).to_owned(), value.clone()));
        }
        let mut w = GgufWriter::new();
        for (k, v) in meta {
            w.add_metadata(k, v);
        }
        let mut tensors: Vec<(String, Vec<u64>)> = vec![
            ("token_embd.weight".into(), vec![32, 3]),
            ("output_norm.weight".into(), vec![32]),
        ];
        for l in 0..2 {
            for (t, dims) in [
                ("attn_norm.weight", vec![32]),
                ("attn_q.weight", vec![32, 32]),
                ("attn_k.weight", vec![32, 32]),
                ("attn_v.weight", vec![32, 32]),
                ("attn_output.weight", vec![32, 32]),
                ("ffn_norm.weight", vec![32]),
                ("ffn_gate.weight", vec![32, 64]),
                ("ffn_up.weight", vec![32, 64]),
                ("ffn_down.weight", vec![64, 32]),
            ] {
                tensors.push((format!("blk.{l}.{t}"), dims));
            }
        }
        for (name, dims) in tensors {
            let n = dims.iter().product::<u64>() as usize;
            w.add_f32_tensor(name, &dims, &vec![0.0; n]);
        }
        if ty != GgmlType::F32 {
            w.add_tensor(
                "extra.weight",
                &[256, 1],
                ty,
                vec![0u8; ty.type_size().unwrap_or(0)],
            );
        }
        w.to_bytes()
    }

    fn tiny(arch: &str, ty: GgmlType) -> Vec<u8> {
        tiny_with(arch, ty, &[])
    }

    #[test]
    fn a_llama_gguf_passes_with_its_numbers() {
        let info = check(&tiny("llama", GgmlType::F32), "tiny.gguf").expect("compatible");
        assert_eq!(info.name, "Tiny Test");
        assert_eq!(info.architecture, "llama");
        assert_eq!(info.n_layers, 2);
        assert_eq!(info.context_length, 128);
        // 96 embedding + 32 final norm + 2 × (2 × 32 norms + 4 × 32² + 3 × 32 × 64).
        assert_eq!(info.parameters, 96 + 32 + 2 * (64 + 4 * 1024 + 3 * 2048));
        assert_eq!(info.file_type, "F32");
        assert!(
            info.summary().contains("2 layers · context 128 · F32"),
            "{}",
            info.summary()
        );
    }

    #[test]
    fn refusals_say_why() {
        let not_gguf = check(b"PK\x03\x04 some zip file bytes", "weights.zip").unwrap_err();
        assert!(
            not_gguf.contains("weights.zip is not a GGUF model file"),
            "{not_gguf}"
        );
        let arch = check(&tiny("gemma2", GgmlType::F32), "g.gguf").unwrap_err();
        assert!(arch.contains("`gemma2` model"), "{arch}");
        let types = check(&tiny("llama", GgmlType::IQ2_XXS), "iq.gguf").unwrap_err();
        assert!(
            types.contains("IQ2_XXS (1 tensor)") && types.contains("cannot decode"),
            "{types}"
        );
        assert!(too_large("big.gguf", 3e9).contains("3.0 GB"));
    }

    /// The page refuses a hostile header with the engine's own message, naming the key.
    #[test]
    fn hostile_settings_are_refused_with_the_key_they_got_wrong() {
        let cases: [(&str, MetadataValue, &[&str]); 6] = [
            (
                "llama.block_count",
                MetadataValue::U32((1 << 31) - 1),
                &["2147483647 blocks", "tensors for 2"],
            ),
            (
                "llama.attention.key_length",
                MetadataValue::U64((1 << 31) + 32),
                &["2147483680 × 4 heads", "embedding width 32"],
            ),
            (
                "llama.attention.head_count",
                MetadataValue::U32(0),
                &["at least 1"],
            ),
            (
                "llama.attention.head_count",
                MetadataValue::U32(5),
                &["5 heads do not divide the embedding width 32"],
            ),
            (
                "llama.attention.layer_norm_rms_epsilon",
                MetadataValue::F32(f32::NAN),
                &["NaN is not a finite positive number"],
            ),
            (
                "llama.context_length",
                MetadataValue::U64(u64::MAX),
                &["outside 1..=16777216"],
            ),
        ];
        for (key, value, needles) in cases {
            let file = tiny_with("llama", GgmlType::F32, &[(key, value)]);
            let err = check(&file, "bad.gguf").expect_err(key);
            assert!(
                err.starts_with("bad.gguf declares `llama` but its settings cannot be used")
                    && err.contains(&format!("`{key}`")),
                "{err}"
            );
            for needle in needles {
                assert!(err.contains(needle), "`{needle}` not in: {err}");
            }
        }
        let vocab = tiny_with(
            "llama",
            GgmlType::F32,
            &[("tokenizer.ggml.tokens", vec!["a"; 4].into())],
        );
        let err = check(&vocab, "v.gguf").expect_err("vocab");
        assert!(
            err.contains("`tokenizer.ggml.tokens`") && err.contains("token_embd.weight"),
            "{err}"
        );
    }

    #[test]
    fn a_web_page_instead_of_the_file_is_refused_from_its_first_bytes() {
        let page = refuse_early(b"<!doctype html><html>", "model.gguf").expect("refused");
        assert!(page.contains("resolve"), "{page}");
        assert_eq!(refuse_early(b"GGUF\x03\x00\x00\x00", "m.gguf"), None);
        assert_eq!(refuse_early(b"GG", "m.gguf"), None);
        assert_eq!(format_parameters(134_515_008), "135M");
        assert_eq!(format_parameters(1_235_814_400), "1.24B");
    }
}
