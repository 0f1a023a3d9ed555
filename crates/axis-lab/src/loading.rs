//! Loading a GGUF model for the lab, and an axis file checked against it.

use std::path::Path;

use anyhow::{Context, Result};
use engine::axis::AxisFile;
use engine::chat::ChatModel;
use engine::model::WeightMode;
use sha2::{Digest, Sha256};

/// A GGUF loaded for the lab: f32 weights on the CPU (the fastest path natively, and the one
/// that matches HF transformers; the browser's quantized path agrees to ~1e-4 in logits).
pub struct LoadedModel {
    pub chat: ChatModel,
    pub id: String,
    pub sha256: String,
}

pub fn load_model(path: &Path) -> Result<LoadedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let chat = ChatModel::load(&bytes, WeightMode::F32, &engine::device::cpu())
        .with_context(|| format!("loading {}", path.display()))?;
    let id = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(".gguf").to_owned())
        .unwrap_or_else(|| "model".to_owned());
    Ok(LoadedModel { chat, id, sha256 })
}

/// The model and an axis file made for it (checked to fit: layers and width).
pub fn load_model_and_axis(model: &Path, axis: &Path) -> Result<(LoadedModel, AxisFile)> {
    let bytes = std::fs::read(axis).with_context(|| format!("reading {}", axis.display()))?;
    let axis = AxisFile::from_bytes(&bytes)?;
    let model = load_model(model)?;
    let cfg = model.chat.model().config();
    axis.check_model(cfg.n_layers, cfg.hidden_size)?;
    Ok((model, axis))
}
