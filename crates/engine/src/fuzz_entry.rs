//! Entry points for the fuzz targets in `fuzz/` (see `docs/fuzzing.md`). Not part of the API.
//!
//! Each function takes the fuzzer's raw bytes, turns them into an input for one of the engine's
//! readers of untrusted data (the GGUF reader, the model configuration read from a GGUF, the
//! GGUF → tokenizer builder, the chat-template renderer, the axis-file reader), runs it, and
//! exercises what a caller would do next with the result. They live here, not in the fuzz crate, so that `tests/fuzz_corpus.rs` replays
//! the committed corpus through exactly the same code on stable Rust, without libFuzzer.
//!
//! Contract, checked by the fuzzer and by the replay: for any bytes the function returns
//! (`Ok`, or the reader's typed error) and never panics, loops or allocates without bound.
//! A few `assert!`s state invariants the rest of the engine relies on (e.g. every token id
//! `encode` returns is inside the vocabulary); a failed one is a finding like any panic.
//!
//! The byte layouts are deliberately simple (sections split by `0xFF`, which never occurs in
//! UTF-8) rather than `arbitrary`-derived, so that seed files are readable, a mutation of a
//! template is a mutation of its text, and the replay needs no extra dependency.

use std::borrow::Cow;

use crate::axis::{AxisError, AxisFile};
use crate::chat_template::{ChatMessage, ChatTemplate, TemplateError};
use crate::gguf::{GgmlType, Gguf, GgufError, GgufWriter, MetadataValue};
use crate::model::{LlamaConfig, MAX_CONTEXT_LENGTH, MAX_LAYERS, ModelError, block_indices};
use crate::tokenizer::{ChatTokenizer, TokenizerError};

/// Separates the sections of a structured input.
pub const SECTION: u8 = 0xFF;
/// Separates the items of a list inside a section (tokens, merges).
pub const ITEM: u8 = 0xFE;

/// Fixed clock for `strftime_now`, so that a template renders the same on every run.
const NOW: i64 = 1_721_952_000;

fn sections(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == SECTION).collect()
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The GGUF reader: parse, then read every metadata value through the typed getters and decode
/// every tensor, as the model loader would, and read the model configuration from it (an error
/// there is fine; an accepted configuration must satisfy [`model_config`]'s invariants).
pub fn gguf_reader(data: &[u8]) -> Result<(), GgufError> {
    let gguf = Gguf::parse(data)?;
    let _ = gguf.architecture();
    for (key, value) in &gguf.metadata {
        let _ = (value.type_name(), value.type_id(), value.as_i128());
        let _ = (gguf.get_u32(key), gguf.get_u64(key), gguf.get_i32(key));
        let _ = (gguf.get_f32(key), gguf.get_bool(key), gguf.get_str(key));
        let _ = (gguf.get_str_array(key), gguf.get_f32_array(key));
        let _ = (gguf.get_i32_array(key), gguf.get_u32_array(key));
    }
    for t in &gguf.tensors {
        let _ = t.n_elements();
        if let Ok(raw) = gguf.tensor_bytes(data, &t.name) {
            // The reader guarantees the bytes lie inside the file.
            assert!(raw.len() as u64 == t.n_bytes, "tensor `{}`", t.name);
        }
        if let Ok(values) = gguf.tensor_f32(data, &t.name) {
            assert!(values.len() as u64 == t.n_elements(), "tensor `{}`", t.name);
        }
    }
    let _ = exercise_config(&gguf);
    Ok(())
}

/// Metadata a [`model_config`] override record can set (the selector's low 4 bits); `vocab`
/// writes `tokenizer.ggml.tokens` (up to [`MAX_FUZZ_TOKENS`] tokens) or `{arch}.vocab_size`.
const CONFIG_KEYS: [&str; 13] = [
    "block_count",
    "embedding_length",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.key_length",
    "attention.value_length",
    "rope.dimension_count",
    "context_length",
    "vocab",
    "rope.freq_base",
    "attention.layer_norm_rms_epsilon",
    "general.architecture",
];

/// A longer vocabulary override is written as `{arch}.vocab_size`, not as a token list.
const MAX_FUZZ_TOKENS: u64 = 4096;

/// The model configuration: `LlamaConfig::from_gguf` on a GGUF whose tensors and metadata the
/// input describes, then the invariants the loader relies on for an accepted configuration.
///
/// Layout: byte 0 is flags; bit 7 is raw mode (the rest is a whole GGUF file). Otherwise
/// bytes 1–7 give the tensors the file holds — blocks `b1 % 5`, heads `b2 % 4 + 1`, key/value
/// heads `b3 % heads + 1`, head width `2·(b4 % 4 + 1)`, MLP width `b5 % 16 + 1`, vocabulary
/// `b6 % 16 + 1`, and (flag bit 3) a scale `2^(b7 % 32)` on the widths and vocabulary — and
/// the metadata starts out matching them. Then 9-byte override records: a selector byte
/// (low 4 bits: index into [`CONFIG_KEYS`], 13–15: an extra `blk.N.attn_norm.weight` tensor
/// with `N` the value; bits 4–5: write as u32, u64, i32 (f32, f64, a string for floats), or
/// remove the key) and a little-endian u64 value. Flags: bit 0 qwen2, bit 1 an `output.weight`,
/// bit 2 Q/K/V biases, bit 3 tensors of an unknown type with no data (so shapes can be
/// large) scaled as above.
pub fn model_config(data: &[u8]) -> Result<(), ModelError> {
    let flags = data.first().copied().unwrap_or(0);
    let rest = data.get(1..).unwrap_or_default();
    if flags & 0x80 != 0 {
        return exercise_config(&Gguf::parse(rest)?);
    }
    let byte = |i: usize| u64::from(rest.get(i).copied().unwrap_or(0));
    let arch = if flags & 1 != 0 { "qwen2" } else { "llama" };
    let unknown = flags & 0x08 != 0;
    let scale = if unknown { 1u64 << (byte(6) % 32) } else { 1 };
    let layers = byte(0) % 5;
    let heads = byte(1) % 4 + 1;
    let kv_heads = byte(2) % heads + 1;
    let head_dim = 2 * (byte(3) % 4 + 1);
    let (hidden, kv) = (heads * head_dim * scale, kv_heads * head_dim * scale);
    let ffn = (byte(4) % 16 + 1) * scale;
    let vocab = (byte(5) % 16 + 1) * scale;

    // Metadata, by key: overrides replace entries (a repeated key would not parse).
    let mut meta: Vec<(String, MetadataValue)> = vec![
        ("general.architecture".into(), arch.into()),
        (format!("{arch}.block_count"), layers.into()),
        (format!("{arch}.embedding_length"), hidden.into()),
        (format!("{arch}.feed_forward_length"), ffn.into()),
        (format!("{arch}.attention.head_count"), heads.into()),
        (format!("{arch}.attention.head_count_kv"), kv_heads.into()),
        (format!("{arch}.context_length"), 64u64.into()),
        (
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            1e-5f32.into(),
        ),
        (format!("{arch}.vocab_size"), vocab.into()),
    ];
    let mut extra_blocks = Vec::new();
    for record in rest.get(7..).unwrap_or_default().chunks_exact(9) {
        let selector = record[0];
        let mut value_bytes = [0u8; 8];
        value_bytes.copy_from_slice(&record[1..]);
        let v = u64::from_le_bytes(value_bytes);
        let encoding = (selector >> 4) & 3;
        let Some(&name) = CONFIG_KEYS.get(usize::from(selector & 0x0f)) else {
            extra_blocks.push(v);
            continue;
        };
        let key = match name {
            "general.architecture" => name.to_owned(),
            "vocab" => format!("{arch}.vocab_size"),
            _ => format!("{arch}.{name}"),
        };
        meta.retain(|(k, _)| *k != key && !(name == "vocab" && k == "tokenizer.ggml.tokens"));
        let value: MetadataValue = match (name, encoding) {
            (_, 3) => continue,
            ("general.architecture", _) => {
                ["llama", "qwen2", "gemma2", ""][(v % 4) as usize].into()
            }
            ("rope.freq_base" | "attention.layer_norm_rms_epsilon", 0) => {
                f32::from_bits(v as u32).into()
            }
            ("rope.freq_base" | "attention.layer_norm_rms_epsilon", 1) => f64::from_bits(v).into(),
            ("rope.freq_base" | "attention.layer_norm_rms_epsilon", _) => "x".into(),
            ("vocab", _) if v <= MAX_FUZZ_TOKENS => {
                meta.push((
                    "tokenizer.ggml.tokens".into(),
                    (0..v).map(|i| i.to_string()).collect::<Vec<_>>().into(),
                ));
                continue;
            }
            (_, 0) => (v as u32).into(),
            (_, 1) => v.into(),
            _ => (v as i64 as i32).into(),
        };
        meta.push((key, value));
    }

    let mut w = GgufWriter::new();
    for (k, v) in meta {
        w.add_metadata(k, v);
    }
    let mut tensors: Vec<(String, Vec<u64>)> = vec![
        ("token_embd.weight".into(), vec![hidden, vocab]),
        ("output_norm.weight".into(), vec![hidden]),
    ];
    if flags & 0x02 != 0 {
        tensors.push(("output.weight".into(), vec![hidden, vocab]));
    }
    for l in 0..layers {
        let mut add = |s: &str, dims: Vec<u64>| tensors.push((format!("blk.{l}.{s}"), dims));
        add("attn_norm.weight", vec![hidden]);
        add("attn_q.weight", vec![hidden, hidden]);
        add("attn_k.weight", vec![hidden, kv]);
        add("attn_v.weight", vec![hidden, kv]);
        if flags & 0x04 != 0 {
            add("attn_q.bias", vec![hidden]);
            add("attn_k.bias", vec![kv]);
            add("attn_v.bias", vec![kv]);
        }
        add("attn_output.weight", vec![hidden, hidden]);
        add("ffn_norm.weight", vec![hidden]);
        add("ffn_gate.weight", vec![hidden, ffn]);
        add("ffn_up.weight", vec![hidden, ffn]);
        add("ffn_down.weight", vec![ffn, hidden]);
    }
    for n in extra_blocks {
        tensors.push((format!("blk.{n}.attn_norm.weight"), vec![hidden]));
    }
    for (name, dims) in tensors {
        if unknown {
            w.add_tensor(name, &dims, GgmlType::Unknown(1000), Vec::new());
        } else {
            // Small: every width is at most 32 without the scale.
            let n: u64 = dims.iter().product();
            w.add_f32_tensor(name, &dims, &vec![0.0; n as usize]);
        }
    }
    // A repeated extra block is a duplicate tensor, and a scaled shape may overflow: those
    // are the reader's errors, fine here.
    exercise_config(&Gguf::parse(&w.to_bytes())?)
}

/// Reads the configuration and checks what the loader relies on when it is accepted.
fn exercise_config(gguf: &Gguf) -> Result<(), ModelError> {
    let c = LlamaConfig::from_gguf(gguf)?;
    assert!((1..=MAX_LAYERS).contains(&c.n_layers), "{c:?}");
    assert_eq!(c.n_layers, block_indices(gguf).len(), "{c:?}");
    assert!(
        c.n_kv_heads >= 1 && c.n_heads.is_multiple_of(c.n_kv_heads),
        "{c:?}"
    );
    assert!(c.head_dim >= 2 && c.head_dim.is_multiple_of(2), "{c:?}");
    assert_eq!(
        c.n_heads.checked_mul(c.head_dim),
        Some(c.hidden_size),
        "{c:?}"
    );
    let embd = gguf.tensor("token_embd.weight").map(|t| t.dims.clone());
    assert_eq!(
        embd.ok(),
        Some(vec![c.hidden_size as u64, c.vocab_size as u64]),
        "{c:?}"
    );
    assert!(c.ffn_size >= 1 && c.vocab_size >= 1, "{c:?}");
    assert!(
        (1..=MAX_CONTEXT_LENGTH).contains(&c.context_length),
        "{c:?}"
    );
    assert!(c.rms_eps.is_finite() && c.rms_eps > 0.0, "{c:?}");
    assert!(c.rope_base.is_finite() && c.rope_base > 0.0, "{c:?}");
    // The loader's size arithmetic must not overflow.
    let fused = c
        .kv_size()
        .checked_mul(2)
        .and_then(|x| x.checked_add(c.hidden_size));
    assert!(
        fused.and_then(|x| x.checked_mul(c.hidden_size)).is_some(),
        "{c:?}"
    );
    assert!(c.group_size() >= 1);
    Ok(())
}

/// `tokenizer.ggml.pre` values the structured tokenizer input picks from (`None`: key absent).
const PRE: [Option<&str>; 8] = [
    Some("default"),
    Some("smollm"),
    Some("gpt-2"),
    Some("llama-bpe"),
    Some("qwen2"),
    Some("llama3"),
    Some("no-such-pre"),
    None,
];

/// The GGUF → tokenizer builder, then encoding and decoding with the result.
///
/// Layout: byte 0 is flags, bytes 1–3 the EOS, BOS and EOT ids, then sections split by
/// [`SECTION`]: tokens (split by [`ITEM`]), merges (split by [`ITEM`]), token types (one byte
/// each, `% 8`; missing ones are 1, normal) and a text to encode. The pieces are written as
/// metadata of a valid GGUF with [`GgufWriter`], so the fuzzer's effort goes into the builder
/// rather than into the GGUF header.
///
/// Flags: bits 0–2 pick `tokenizer.ggml.pre` from [`PRE`]; bit 3 drops `token_type`; bit 4
/// writes `add_bos_token` with bit 5 as its value; bit 6 writes BOS and EOT ids. Bit 7 is raw
/// mode: the rest of the input is a whole GGUF file (wrong value types, odd arrays), and the
/// text to encode is fixed.
pub fn gguf_tokenizer(data: &[u8]) -> Result<(), TokenizerError> {
    let flags = data.first().copied().unwrap_or(0);
    let rest = data.get(1..).unwrap_or_default();
    if flags & 0x80 != 0 {
        // A file that does not parse never reaches the builder; that is the reader's target.
        let Ok(gguf) = Gguf::parse(rest) else {
            return Ok(());
        };
        return exercise_tokenizer(&gguf, "Hello, world! <|im_start|>user\n 123 ü 👋");
    }
    let id = |i: usize| u32::from(rest.get(i).copied().unwrap_or(0));
    let body = rest.get(3..).unwrap_or_default();
    let parts = sections(body);
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    let tokens: Vec<String> = part(0)
        .split(|&b| b == ITEM)
        .map(|t| text(t).into_owned())
        .collect();
    let merges: Vec<String> = if part(1).is_empty() {
        Vec::new()
    } else {
        part(1)
            .split(|&b| b == ITEM)
            .map(|m| text(m).into_owned())
            .collect()
    };
    let types: Vec<i32> = (0..tokens.len())
        .map(|i| part(2).get(i).map_or(1, |b| i32::from(b % 8)))
        .collect();
    let input = text(part(3));

    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama")
        .add_metadata("tokenizer.ggml.model", "gpt2")
        .add_metadata("tokenizer.ggml.tokens", tokens)
        .add_metadata("tokenizer.ggml.merges", merges)
        .add_metadata("tokenizer.ggml.eos_token_id", id(0));
    if let Some(pre) = PRE[usize::from(flags & 0x07)] {
        w.add_metadata("tokenizer.ggml.pre", pre);
    }
    if flags & 0x08 == 0 {
        w.add_metadata("tokenizer.ggml.token_type", types);
    }
    if flags & 0x10 != 0 {
        w.add_metadata("tokenizer.ggml.add_bos_token", flags & 0x20 != 0);
    }
    if flags & 0x40 != 0 {
        w.add_metadata("tokenizer.ggml.bos_token_id", id(1))
            .add_metadata("tokenizer.ggml.eot_token_id", id(2));
    }
    let bytes = w.to_bytes();
    // The writer's output of well-typed metadata must always parse.
    let gguf = Gguf::parse(&bytes).expect("GgufWriter output parses");
    exercise_tokenizer(&gguf, &input)
}

/// Builds the tokenizer and uses it the way the chat loop does.
fn exercise_tokenizer(gguf: &Gguf, input: &str) -> Result<(), TokenizerError> {
    let tok = ChatTokenizer::from_gguf(gguf)?;
    let vocab = tok.vocab_size();
    let ids = tok.encode(input)?;
    // The model indexes its embedding table with these: they must be in the vocabulary.
    assert!(
        ids.iter().all(|&id| (id as usize) < vocab),
        "encode returned an id outside the vocabulary of {vocab}: {ids:?}"
    );
    assert!(tok.stop_ids().iter().all(|&id| (id as usize) < vocab));
    assert!((tok.eos_id() as usize) < vocab);
    let _ = tok.decode(&ids)?;
    let mut stream = tok.stream_decoder();
    for &id in &ids {
        let _ = stream.push(id);
    }
    let _ = stream.finish();
    for id in 0..vocab.min(64) as u32 {
        let _ = (tok.token_text(id), tok.is_control(id));
    }
    // An id past the vocabulary is an error, not a panic.
    let past = u32::try_from(vocab).unwrap_or(u32::MAX);
    assert!(matches!(
        tok.decode(&[past]),
        Err(TokenizerError::UnknownId(_))
    ));
    Ok(())
}

/// Roles the structured chat input picks from.
const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

/// The chat-template renderer: compile a template, render a conversation with it.
///
/// Layout: byte 0 is flags (bit 0: `add_generation_prompt`), then sections split by
/// [`SECTION`]: the template source, the BOS text, the EOS text, then one section per message
/// whose first byte picks the role from [`ROLES`] and whose rest is the content.
pub fn chat_template(data: &[u8]) -> Result<String, TemplateError> {
    let flags = data.first().copied().unwrap_or(0);
    let parts = sections(data.get(1..).unwrap_or_default());
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    let messages: Vec<ChatMessage> = parts
        .iter()
        .skip(3)
        .map(|m| {
            let role = ROLES[usize::from(m.first().copied().unwrap_or(0) % 4)];
            ChatMessage::new(role, &text(m.get(1..).unwrap_or_default()))
        })
        .collect();
    let mut template = ChatTemplate::new(
        &text(part(0)),
        text(part(1)).into_owned(),
        text(part(2)).into_owned(),
    )?;
    template.set_now(NOW);
    template.render(&messages, flags & 1 != 0)
}

/// Tensors of an axis file, in the order the structured axis input numbers them.
const AXIS_TENSORS: [&str; 9] = [
    "axis",
    "default_mean",
    "role_mean",
    "default_percentiles",
    "role_percentiles",
    "pca_components",
    "pca_explained",
    "role_coords",
    "all_percentiles",
];

/// The axis-file reader, then what the app does with a file it accepted.
///
/// Byte 0 selects the mode. Bit 7 set: the rest is the file itself (raw safetensors).
/// Otherwise the rest is two sections split by [`SECTION`]: the `axis` metadata JSON and a
/// tensor list, five bytes per tensor — name (index into [`AXIS_TENSORS`], or an extra name),
/// dtype, and three dims (`% 16`, a 0 ends the shape) — each filled with a pattern chosen by
/// byte 0 (`% 4`: ramp, zeros, a NaN, an infinity). The entry writes a well-formed
/// safetensors file from these, so the fuzzer reaches the metadata and shape validation.
pub fn axis_file(data: &[u8]) -> Result<(), AxisError> {
    let mode = data.first().copied().unwrap_or(0);
    let rest = data.get(1..).unwrap_or_default();
    let file = if mode & 0x80 != 0 {
        AxisFile::from_bytes(rest)?
    } else {
        AxisFile::from_bytes(&structured_axis_bytes(mode, rest))?
    };
    let l = file.meta.n_layers;
    file.check_model(l, file.meta.hidden)?;
    for layer in 0..=l {
        let _ = (file.score_centre(layer), file.unit_axis(layer));
        let _ = file.threshold(layer, file.meta.cap.percentile);
        let _ = file.role_percentile(layer, file.meta.cap.percentile);
        let _ = file.threshold_row(layer);
    }
    // What the page is sent about the file.
    let _ = (file.cap_offer(), file.persona_map());
    // A file the reader accepts must survive the writer: the lab writes, the app reads.
    let again = file
        .to_bytes()
        .and_then(|bytes| AxisFile::from_bytes(&bytes));
    assert!(
        again.as_ref().is_ok_and(|again| *again == file),
        "an accepted axis file does not round-trip: {again:?}"
    );
    Ok(())
}

/// A safetensors file built from the structured axis input (see [`axis_file`]).
fn structured_axis_bytes(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut parts = rest.splitn(2, |&b| b == SECTION);
    let meta = text(parts.next().unwrap_or_default()).into_owned();
    let specs = parts.next().unwrap_or_default();
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({ "axis": meta }));
    let mut payload: Vec<u8> = Vec::new();
    for (i, spec) in specs.chunks(5).enumerate() {
        let byte = |j: usize| spec.get(j).copied().unwrap_or(0);
        let name = match AXIS_TENSORS.get(usize::from(byte(0))) {
            Some(name) => (*name).to_owned(),
            None => format!("extra{i}"),
        };
        let (dtype, size) = match byte(1) % 5 {
            0 | 1 => ("F32", 4),
            2 => ("F16", 2),
            3 => ("I32", 4),
            _ => ("U8", 1),
        };
        let shape: Vec<usize> = (2..5)
            .map(|j| usize::from(byte(j) % 16))
            .take_while(|&d| d != 0)
            .collect();
        let n: usize = shape.iter().product();
        let start = payload.len();
        for k in 0..n {
            let v: f32 = match mode % 4 {
                0 => ((k % 7) as f32 - 3.0) * 0.5 + 0.25,
                1 => 0.0,
                2 if k == n / 2 => f32::NAN,
                3 if k == 0 => f32::INFINITY,
                _ => 1.0,
            };
            payload.extend_from_slice(&v.to_le_bytes()[..size]);
        }
        header.insert(
            name,
            serde_json::json!({
                "dtype": dtype,
                "shape": shape,
                "data_offsets": [start, payload.len()],
            }),
        );
    }
    let header = serde_json::Value::Object(header).to_string();
    let mut out = Vec::with_capacity(8 + header.len() + payload.len());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Seed inputs for every target, built from small valid files: what `fuzz/seeds/` holds.
/// `tests/fuzz_corpus.rs` checks that the committed seeds are these (and rewrites them with
/// `FUZZ_WRITE_SEEDS=1`).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    out.extend(gguf_seeds());
    out.extend(model_config_seeds());
    out.extend(tokenizer_seeds());
    out.extend(template_seeds());
    out.extend(axis_seeds());
    out
}

/// Byte-level vocabulary entries (GPT-2's byte → character table for printable ASCII).
fn ascii_tokens() -> Vec<String> {
    (b' '..=b'~')
        .map(|b| {
            if b == b' ' {
                "Ġ".to_owned()
            } else {
                (b as char).to_string()
            }
        })
        .collect()
}

fn gguf_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    use crate::gguf::GgmlType;
    let mut seeds = Vec::new();
    let values: Vec<f32> = (0..64).map(|i| (i as f32 - 32.0) / 8.0).collect();
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama")
        .add_metadata("general.name", "fuzz seed")
        .add_metadata("llama.block_count", 1u32)
        .add_metadata("llama.context_length", 64u64)
        .add_metadata("llama.rope.freq_base", 10_000f32)
        .add_metadata("llama.attention.layer_norm_rms_epsilon", 1e-5f64)
        .add_metadata("tokenizer.ggml.add_bos_token", false)
        .add_metadata("tokenizer.ggml.tokens", vec!["a", "b", "<s>"])
        .add_metadata("tokenizer.ggml.token_type", vec![1i32, 1, 3])
        .add_metadata("some.i8", -3i8)
        .add_metadata("some.u16", 7u16)
        .add_metadata("some.i64", -9i64)
        .add_metadata(
            "nested",
            MetadataValue::Array(vec![vec![1u8, 2].into(), vec![3u8].into()]),
        )
        .add_f32_tensor("f32", &[8, 2], &values[..16]);
    for (name, t) in [
        ("f16", GgmlType::F16),
        ("bf16", GgmlType::BF16),
        ("q8_0", GgmlType::Q8_0),
        ("q4_0", GgmlType::Q4_0),
        ("q4_1", GgmlType::Q4_1),
    ] {
        // These types are all quantizable, so this cannot fail; if it did, the seed would
        // just lack the tensor (and `seeds_are_generated_and_valid` would show the change).
        let _ = w.add_quantized_tensor(name, &[32, 2], t, &values);
    }
    seeds.push(("gguf_reader", "all_types.gguf".to_owned(), w.to_bytes()));
    let mut v2 = GgufWriter::new();
    v2.version(2)
        .alignment(64)
        .add_metadata("general.architecture", "llama")
        .add_f32_tensor("t", &[4], &[1.0, 2.0, 3.0, 4.0]);
    seeds.push(("gguf_reader", "v2_align64.gguf".to_owned(), v2.to_bytes()));
    seeds.push((
        "gguf_reader",
        "empty.gguf".to_owned(),
        GgufWriter::new().to_bytes(),
    ));
    seeds
}

/// One override record of the structured [`model_config`] input.
fn config_record(key: &str, encoding: u8, value: u64) -> Vec<u8> {
    let index = CONFIG_KEYS.iter().position(|k| *k == key).unwrap_or(13);
    let mut record = vec![index as u8 | encoding << 4];
    record.extend_from_slice(&value.to_le_bytes());
    record
}

fn model_config_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    // 2 blocks, 3 heads of 4 sharing 1 key/value head (b3 = 0), MLP 16, 10 tokens; b7 is the
    // scale exponent of flag bit 3.
    let structured = |flags: u8, scale: u8, records: &[Vec<u8>]| {
        let mut input = vec![flags, 2, 2, 0, 1, 15, 9, scale];
        for r in records {
            input.extend_from_slice(r);
        }
        input
    };
    let mut seeds = vec![
        (
            "model_config",
            "llama.bin".to_owned(),
            structured(0, 0, &[]),
        ),
        (
            "model_config",
            "qwen2_bias_output_tokens.bin".to_owned(),
            structured(
                0x01 | 0x02 | 0x04,
                0,
                &[
                    config_record("vocab", 0, 10),
                    config_record("attention.key_length", 1, 4),
                    config_record("rope.freq_base", 0, u64::from(1_000_000f32.to_bits())),
                ],
            ),
        ),
        (
            "model_config",
            "block_count_2pow31_rejected.bin".to_owned(),
            structured(0, 0, &[config_record("block_count", 0, (1 << 31) - 1)]),
        ),
        (
            "model_config",
            "key_length_wraps_rejected.bin".to_owned(),
            structured(
                0,
                0,
                &[config_record("attention.key_length", 1, (1 << 31) + 32)],
            ),
        ),
        (
            "model_config",
            "nan_eps_rejected.bin".to_owned(),
            structured(
                0,
                0,
                &[config_record(
                    "attention.layer_norm_rms_epsilon",
                    0,
                    u64::from(f32::NAN.to_bits()),
                )],
            ),
        ),
        (
            "model_config",
            "unaddressable_rejected.bin".to_owned(),
            // Widths × 2^27, consistent, declared without data: too large to address.
            structured(0x08, 27, &[]),
        ),
    ];
    // Raw mode: a whole tiny model file.
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", "llama")
        .add_metadata("llama.block_count", 1u32)
        .add_metadata("llama.embedding_length", 4u32)
        .add_metadata("llama.feed_forward_length", 8u32)
        .add_metadata("llama.attention.head_count", 2u32)
        .add_metadata("llama.context_length", 32u32)
        .add_metadata("llama.attention.layer_norm_rms_epsilon", 1e-6f32)
        .add_metadata("tokenizer.ggml.tokens", vec!["a", "b", "c"]);
    for (name, dims) in [
        ("token_embd.weight", vec![4u64, 3]),
        ("output_norm.weight", vec![4]),
        ("blk.0.attn_norm.weight", vec![4]),
        ("blk.0.attn_q.weight", vec![4, 4]),
        ("blk.0.attn_k.weight", vec![4, 4]),
        ("blk.0.attn_v.weight", vec![4, 4]),
        ("blk.0.attn_output.weight", vec![4, 4]),
        ("blk.0.ffn_norm.weight", vec![4]),
        ("blk.0.ffn_gate.weight", vec![4, 8]),
        ("blk.0.ffn_up.weight", vec![4, 8]),
        ("blk.0.ffn_down.weight", vec![8, 4]),
    ] {
        let n: u64 = dims.iter().product();
        w.add_f32_tensor(name, &dims, &vec![0.5; n as usize]);
    }
    let mut raw = vec![0x80];
    raw.extend(w.to_bytes());
    seeds.push(("model_config", "raw_gguf.bin".to_owned(), raw));
    seeds
}

fn join(items: &[&[u8]], sep: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.extend_from_slice(item);
    }
    out
}

fn tokenizer_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut tokens = ascii_tokens();
    tokens.extend(
        [
            "Ġh",
            "Ġhe",
            "ll",
            "llo",
            "Ġhello",
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
        ]
        .map(str::to_owned),
    );
    let merges = ["Ġ h", "Ġh e", "l l", "ll o", "Ġhe llo"];
    let n = tokens.len();
    let mut types = vec![1u8; n];
    for t in &mut types[n - 3..] {
        *t = 3;
    }
    let token_bytes: Vec<&[u8]> = tokens.iter().map(|t| t.as_bytes()).collect();
    let merge_bytes: Vec<&[u8]> = merges.iter().map(|m| m.as_bytes()).collect();
    let body = |text: &str| {
        join(
            &[
                &join(&token_bytes, ITEM),
                &join(&merge_bytes, ITEM),
                &types,
                text.as_bytes(),
            ],
            SECTION,
        )
    };
    let eos = (n - 2) as u8;
    let mut seeds = Vec::new();
    for (name, flags, text) in [
        (
            "smollm",
            0x01u8,
            "<|im_start|>user\n hello, hello 123!<|im_end|>",
        ),
        ("llama_bpe_bos", 0x40 | 0x03, " hello world 12345"),
        ("default_add_bos", 0x30, "hello\n\n  x"),
        ("qwen2_no_types", 0x08 | 0x04, " hello~"),
    ] {
        let mut input = vec![flags, eos, (n - 1) as u8, eos];
        input.extend(body(text));
        seeds.push(("gguf_tokenizer", format!("{name}.bin"), input));
    }
    // Raw mode: a whole GGUF with a tokenizer in it.
    let mut w = GgufWriter::new();
    w.add_metadata("tokenizer.ggml.model", "gpt2")
        .add_metadata("tokenizer.ggml.pre", "smollm")
        .add_metadata("tokenizer.ggml.tokens", tokens.clone())
        .add_metadata("tokenizer.ggml.merges", merges.to_vec())
        .add_metadata(
            "tokenizer.ggml.token_type",
            types.iter().map(|&t| i32::from(t)).collect::<Vec<_>>(),
        )
        .add_metadata("tokenizer.ggml.eos_token_id", u32::from(eos));
    let mut raw = vec![0x80];
    raw.extend(w.to_bytes());
    seeds.push(("gguf_tokenizer", "raw_gguf.bin".to_owned(), raw));
    seeds
}

/// Chat templates in the styles real models ship: ChatML (SmolLM2, Qwen), Llama 3, Mistral,
/// Gemma (with `raise_exception`), and one using namespaces, macros, filters and methods.
const TEMPLATES: [(&str, &str); 6] = [
    (
        "chatml",
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    ),
    (
        "llama3",
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    ),
    (
        "mistral",
        "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
    ),
    (
        "gemma",
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
    ),
    (
        "features",
        "{%- set ns = namespace(n=0, sys='') -%}\n{%- macro show(m) -%}\n  {{ m.role | upper }}: {{ m.content.strip() | replace('\\n', ' ') }}\n{%- endmacro -%}\n{%- for m in messages if m.role != 'tool' %}\n  {%- set ns.n = ns.n + 1 %}\n  {%- if m.role == 'system' %}{% set ns.sys = m.content %}{% continue %}{% endif %}\n  {{ show(m) }} {{ m | tojson }} {{ loop.index }}/{{ loop.length }}\n{%- endfor %}\n{{ ns.n }} {{ ns.sys | length }} {{ messages | map(attribute='role') | join(',') }} {{ strftime_now('%Y-%m-%d') }}\n{%- if tools is none %}{{ [1, 2.5, 'x', none, true] | tojson(indent=2) }}{% endif %}",
    ),
    (
        "loop",
        "{% for i in range(3) %}{% for m in messages %}{{ i }}{{ m['content'][:3] }}{% endfor %}{% endfor %}{{ messages | length }}",
    ),
];

fn template_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let conversation: [(u8, &str); 3] = [
        (1, "Hi! What's 2+2?"),
        (2, "4."),
        (1, "  And in French?\nÉcris-le. 👋 "),
    ];
    let mut seeds = Vec::new();
    for (name, source) in TEMPLATES {
        let mut parts: Vec<Vec<u8>> = vec![
            source.as_bytes().to_vec(),
            b"<s>".to_vec(),
            b"</s>".to_vec(),
        ];
        for (role, content) in conversation {
            let mut m = vec![role];
            m.extend_from_slice(content.as_bytes());
            parts.push(m);
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let mut input = vec![1u8];
        input.extend(join(&refs, SECTION));
        seeds.push(("chat_template", format!("{name}.bin"), input));
    }
    seeds
}

fn axis_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    use crate::axis::{AxisMeta, CapSetting, FORMAT_VERSION, Percentile};
    let (l, h, k) = (3usize, 4usize, 2usize);
    let levels = [5, 25, 50, 75, 95].map(Percentile::whole).to_vec();
    let roles = vec!["pirate".to_owned(), "ghost".to_owned()];
    let (p, r) = (levels.len(), roles.len());
    let meta = AxisMeta {
        format_version: FORMAT_VERSION,
        model_id: "fuzz".into(),
        model_sha256: "00".repeat(32),
        n_layers: l,
        hidden: h,
        monitor_layer: 1,
        cap: CapSetting {
            first_layer: 1,
            last_layer: 2,
            percentile: Percentile::whole(75),
        },
        percentile_levels: levels,
        roles,
        validation: serde_json::json!({ "auroc": 0.9 }),
        build: serde_json::json!({ "seed": 1 }),
    };
    let seq = |n: usize| -> Vec<f32> { (0..n).map(|i| (i % 5) as f32 * 0.5 - 0.75).collect() };
    let file = AxisFile {
        axis: seq(l * h),
        default_mean: seq(l * h),
        role_mean: seq(l * h),
        default_percentiles: seq(l * p),
        role_percentiles: seq(l * p),
        all_percentiles: Some(seq(l * p)),
        n_components: k,
        pca_components: seq(l * k * h),
        pca_explained: seq(l * k),
        role_coords: seq(r * k),
        meta: meta.clone(),
    };
    let mut seeds = Vec::new();
    if let Ok(bytes) = file.to_bytes() {
        let mut raw = vec![0x80];
        raw.extend(bytes);
        seeds.push(("axis_file", "raw_valid.bin".to_owned(), raw));
    }
    // Structured: the same shapes as tensor specs (name, dtype F32, dims).
    let shapes: [&[usize]; 9] = [
        &[l, h],
        &[l, h],
        &[l, h],
        &[l, p],
        &[l, p],
        &[l, k, h],
        &[l, k],
        &[r, k],
        &[l, p],
    ];
    let mut specs = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let mut dims = [0u8; 3];
        for (d, &s) in dims.iter_mut().zip(shape.iter()) {
            *d = s as u8;
        }
        specs.extend_from_slice(&[i as u8, 0, dims[0], dims[1], dims[2]]);
    }
    let meta_json = serde_json::to_string(&meta).unwrap_or_default();
    for (name, mode) in [
        ("structured_ramp", 0u8),
        ("structured_zero_rejected", 1),
        ("structured_nan_rejected", 2),
    ] {
        let mut input = vec![mode];
        input.extend(join(&[meta_json.as_bytes(), &specs], SECTION));
        seeds.push(("axis_file", format!("{name}.bin"), input));
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structured `model_config` seeds reach the validation they are named for (not a
    /// reader error on the way), so the fuzzer starts at each of those checks.
    #[test]
    fn model_config_seeds_fail_where_their_names_say() {
        let expected = [
            (
                "block_count_2pow31_rejected.bin",
                "`llama.block_count`: declares 2147483647",
            ),
            (
                "key_length_wraps_rejected.bin",
                "`llama.attention.key_length`: 2147483680 × 3 heads",
            ),
            (
                "nan_eps_rejected.bin",
                "`llama.attention.layer_norm_rms_epsilon`: NaN",
            ),
            ("unaddressable_rejected.bin", "too large to address"),
        ];
        let seeds = model_config_seeds();
        for (name, needle) in expected {
            let (_, _, input) = seeds
                .iter()
                .find(|(_, n, _)| n == name)
                .expect("seed exists");
            let err = model_config(input).expect_err(name).to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
        let accepted = seeds.iter().filter(|(_, n, _)| !n.contains("_rejected"));
        for (_, name, input) in accepted {
            assert!(model_config(input).is_ok(), "{name}");
        }
    }

    /// The review's finding, as a whole file: `llama.block_count = 2^31 − 1` in an otherwise
    /// valid tiny model (it used to abort on a 4.5 TB `Vec::with_capacity` in the loader).
    #[test]
    fn the_block_count_regression_is_refused_by_the_config() {
        let input =
            include_bytes!("../../../fuzz/regressions/model_config/raw_block_count_2pow31.bin");
        let err = model_config(input).expect_err("refused").to_string();
        assert!(
            err.contains(
                "`llama.block_count`: declares 2147483647 blocks but the file has tensors for 1"
            ),
            "{err}"
        );
    }

    /// Record encodings: a u32 write truncates, a removed key is missing, an extra block
    /// number makes gaps, a wrong type is a typed error.
    #[test]
    fn model_config_records_reach_the_keys() {
        let base = vec![0u8, 2, 2, 0, 1, 15, 9, 0];
        let with = |records: &[Vec<u8>]| {
            let mut input = base.clone();
            records.iter().for_each(|r| input.extend_from_slice(r));
            model_config(&input).map_err(|e| e.to_string())
        };
        assert_eq!(with(&[]), Ok(()));
        let err = with(&[config_record("context_length", 3, 0)]).expect_err("removed");
        assert!(err.contains("`llama.context_length`: missing"), "{err}");
        let err = with(&[config_record("block_count", 0, (1 << 32) + 2)]);
        assert_eq!(err, Ok(()), "u32 write truncates 2^32 + 2 to 2");
        let err =
            with(&[config_record("block_count", 1, 3), config_record("", 0, 7)]).expect_err("gaps");
        assert!(err.contains("numbered 0 to 7, with gaps"), "{err}");
        let err = with(&[config_record("rope.freq_base", 2, 0)]).expect_err("string");
        assert!(err.contains("`llama.rope.freq_base`"), "{err}");
        let err = with(&[config_record("general.architecture", 0, 2)]).expect_err("gemma2");
        assert!(err.contains("unsupported architecture `gemma2`"), "{err}");
    }
}
