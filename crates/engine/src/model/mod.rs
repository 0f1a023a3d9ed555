//! The Llama-family transformer, on burn.
//!
//! Without the crate's `model` feature only [`LlamaConfig`] (reading and validating the
//! hyper-parameters against the GGUF's tensors) and [`ModelError`] remain: what the fuzz
//! targets build.
//!
//! - [`LlamaConfig`] reads hyper-parameters from GGUF metadata (`llama`, `qwen2`).
//! - [`Weights`] moves tensors from the GGUF onto a burn [`Device`](burn::tensor::Device):
//!   [`WeightMode::F32`] (dequantized; the reference, within ~1e-4 of HF transformers) or
//!   [`WeightMode::Quantized`] (GGUF Q4_1/Q8_0 blocks carried over exactly into burn's
//!   symmetric block format plus an offset term — see [`WeightMode`]) or
//!   [`WeightMode::HostBlocks`] (the same blocks in host memory, multiplied by our own CPU
//!   kernel: the fast quantized path on flex).
//! - [`LlamaModel::forward`] runs one pass over a batch with a [`KvCache`] and applies
//!   [`Interventions`] inside that same pass. It returns device tensors ([`ForwardOutput`]):
//!   logits (last position, all, or none), probe values per position, and optional captured
//!   block outputs, all read back together by one [`ForwardOutput::read`].
//!
//! # Usage
//!
//! ```text
//! let model = LlamaModel::from_gguf_bytes(&bytes, WeightMode::F32, &Device::flex())?;
//! let steer = model.prepare(&Interventions { probes, caps, steers })?; // once
//! let mut cache = model.new_cache(1);
//! let out = model.forward(&mut cache, &[&prompt], Some(&steer), &ForwardOptions::default())?;
//! let readout = out.read().await?;          // logits + probes in one readback
//! let next = argmax(readout.row_logits(0, 0).unwrap());
//! let out = model.forward(&mut cache, &[&[next]], Some(&steer), &ForwardOptions::default())?;
//! ```
//!
//! # Conventions
//!
//! - **Block output** = the residual stream after block `l`'s attention and MLP, before block
//!   `l + 1` (HF's `hidden_states[l + 1]` for `l < n_layers − 1`; the last one is *before* the
//!   final norm). Interventions act there, in the order steer → cap → probe.
//! - **Batches** are left-padded; rows may differ in length on every forward (see [`KvCache`]).
//! - **RoPE** follows the GGUF convention of the architecture ([`RopeStyle`]).
//! - **Readbacks**: nothing here reads synchronously from the device except
//!   [`ForwardOutput::read_blocking`], which does not exist on wasm.
//! - **Long prompts**: the attention mask is materialised as `[batch, 1, group·seq, slots]`
//!   booleans, so prefill prompts of thousands of tokens in chunks (e.g. 512) — chunked prefill is
//!   exact (the cache makes it equal to one pass).

// The configuration and the error type need no burn: they are built without the `model`
// feature too, so the fuzz targets (which leave burn out) can fuzz config validation.
mod config;
mod error;

#[cfg(feature = "model")]
mod attention;
#[cfg(feature = "model")]
mod block_matmul;
#[cfg(feature = "model")]
mod chunks;
#[cfg(feature = "model")]
mod decode_attention;
#[cfg(feature = "model")]
mod forward;
#[cfg(all(feature = "model", webgpu))]
mod gpu;
#[cfg(feature = "model")]
mod interventions;
#[cfg(feature = "model")]
mod kv_cache;
#[cfg(feature = "model")]
mod mlp;
#[cfg(feature = "model")]
mod norm;
#[cfg(feature = "model")]
mod rope;
#[cfg(feature = "model")]
mod weights;

pub use config::{
    Architecture, LlamaConfig, MAX_CONTEXT_LENGTH, MAX_LAYERS, RopeStyle, block_indices,
};
pub use error::ModelError;

#[cfg(feature = "model")]
pub use attention::build_mask;
#[cfg(feature = "model")]
pub use block_matmul::{BlockKind, BlockMatrix};
#[cfg(feature = "model")]
pub use forward::{ForwardOptions, ForwardOutput, ForwardReadout, LlamaModel, LogitsMode};
#[cfg(feature = "model")]
pub use interventions::{Cap, Interventions, PreparedInterventions, Probe, Steer, cap};
#[cfg(feature = "model")]
pub use kv_cache::KvCache;
#[cfg(feature = "model")]
pub use norm::rms_norm;
#[cfg(feature = "model")]
pub use rope::{RopeAngles, inverse_frequencies};
#[cfg(feature = "model")]
pub use weights::{
    GgufSource, HOST_KERNEL_MAX_ROWS, HostEmbedding, LayerWeights, Linear, MemorySource,
    QUANT_BLOCK, ResidentBytes, WeightMode, WeightSource, Weights,
};
