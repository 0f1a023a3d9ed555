//! The model and its forward pass.

use burn::tensor::{Device, Tensor, TensorData, Transaction};

#[cfg(webgpu)]
use crate::device::PromptPass;
use crate::gguf::Gguf;

use super::attention::{AttentionMask, attention, build_mask};
use super::mlp::mlp;
use super::rope::{RopeAngles, inverse_frequencies};
use super::{
    Interventions, KvCache, LlamaConfig, ModelError, PreparedInterventions, ResidentBytes,
    WeightMode, Weights,
};

/// Which positions get logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogitsMode {
    /// Only the last slot of the forward (every row's newest token, thanks to left padding).
    #[default]
    Last,
    /// Every slot of the forward (padding slots included; their logits are meaningless).
    All,
    /// No LM head at all (activation collection).
    None,
}

/// What one forward pass computes besides advancing the cache.
#[derive(Debug, Clone, Default)]
pub struct ForwardOptions {
    /// Which positions get logits.
    pub logits: LogitsMode,
    /// Decoder blocks whose output (after interventions) is returned in full.
    pub capture_layers: Vec<usize>,
}

/// Device tensors produced by one forward. Nothing has been read back yet: read it with
/// [`ForwardOutput::read`] (async, works everywhere) or register the tensors in your own
/// [`Transaction`].
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// `[batch, positions, vocab]`; `positions` is 1 for [`LogitsMode::Last`].
    pub logits: Option<Tensor<3>>,
    /// `[batch, seq, n_probes]`, columns in the order of [`Interventions::probes`].
    pub probes: Option<Tensor<3>>,
    /// `(layer, [batch, seq, hidden])` for every requested capture layer, in request order.
    pub captures: Vec<(usize, Tensor<3>)>,
    /// Validity of this forward's slots, `[row][slot]` (`false` = left padding).
    pub slots: Vec<Vec<bool>>,
}

/// Host copies of a [`ForwardOutput`], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardReadout {
    /// `(values, [batch, positions, vocab])`.
    pub logits: Option<(Vec<f32>, [usize; 3])>,
    /// `(values, [batch, seq, n_probes])`.
    pub probes: Option<(Vec<f32>, [usize; 3])>,
    /// `(layer, values, [batch, seq, hidden])`.
    pub captures: Vec<(usize, Vec<f32>, [usize; 3])>,
    /// Validity of this forward's slots, `[row][slot]`.
    pub slots: Vec<Vec<bool>>,
}

impl ForwardReadout {
    /// Probe values of `row` at its real (non-padding) slots: `[token][probe]`.
    pub fn row_probes(&self, row: usize) -> Vec<Vec<f32>> {
        let Some((values, [_, seq, n])) = &self.probes else {
            return Vec::new();
        };
        let Some(valid) = self.slots.get(row) else {
            return Vec::new();
        };
        (0..*seq)
            .filter(|&s| valid.get(s).copied().unwrap_or(false))
            .map(|s| values[(row * seq + s) * n..(row * seq + s + 1) * n].to_vec())
            .collect()
    }

    /// Logits of `row` at logits position `pos`.
    pub fn row_logits(&self, row: usize, pos: usize) -> Option<&[f32]> {
        let (values, [_, positions, vocab]) = self.logits.as_ref()?;
        if pos >= *positions {
            return None;
        }
        let start = (row * positions + pos) * vocab;
        values.get(start..start + vocab)
    }
}

impl ForwardOutput {
    /// Read everything back in one transaction. The only readback this module does; safe in
    /// wasm (never blocks).
    pub async fn read(self) -> Result<ForwardReadout, ModelError> {
        let (tx, shapes) = self.transaction();
        let data = tx
            .execute_async()
            .await
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        Self::unpack(data, shapes, self.slots)
    }

    /// Blocking [`ForwardOutput::read`] for native callers (tests, the lab). Not available in
    /// wasm, where a synchronous readback panics.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(self) -> Result<ForwardReadout, ModelError> {
        let (tx, shapes) = self.transaction();
        let data = tx
            .try_execute()
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        Self::unpack(data, shapes, self.slots)
    }

    /// Logits and probes travel to the host as one flat tensor: on WebGPU every tensor of a
    /// transaction is its own buffer mapping (a `mapAsync` round trip), and a decode step reads
    /// both every token. Captures (whole hidden states, large in the lab's batches) are read as
    /// they are.
    fn transaction(&self) -> (Transaction, ReadPlan) {
        let mut tx = Transaction::default();
        let plan = ReadPlan {
            logits: self.logits.as_ref().map(|l| l.dims()),
            probes: self.probes.as_ref().map(|p| p.dims()),
            captures: self.captures.iter().map(|(l, c)| (*l, c.dims())).collect(),
        };
        let head: Vec<Tensor<1>> = [&self.logits, &self.probes]
            .into_iter()
            .flatten()
            .map(|t| t.clone().flatten::<1>(0, 2))
            .collect();
        if !head.is_empty() {
            tx = tx.register(Tensor::cat(head, 0));
        }
        for (_, c) in &self.captures {
            tx = tx.register(c.clone());
        }
        (tx, plan)
    }

    fn unpack(
        data: Vec<TensorData>,
        plan: ReadPlan,
        slots: Vec<Vec<bool>>,
    ) -> Result<ForwardReadout, ModelError> {
        let mut data = data.into_iter();
        let mut next = || -> Result<Vec<f32>, ModelError> {
            data.next()
                .ok_or_else(|| ModelError::Readback("transaction returned too few tensors".into()))?
                .try_into_vec::<f32>()
                .map_err(|e| ModelError::Readback(format!("{e:?}")))
        };
        let (logits, probes) = match (plan.logits, plan.probes) {
            (None, None) => (None, None),
            (logits_shape, probes_shape) => {
                let mut head = next()?;
                let n_logits = logits_shape.map_or(0, |s| s.iter().product::<usize>());
                let n_probes = probes_shape.map_or(0, |s| s.iter().product::<usize>());
                if head.len() != n_logits + n_probes {
                    return Err(ModelError::Readback(format!(
                        "read {} values for {n_logits} logits and {n_probes} probe values",
                        head.len()
                    )));
                }
                let probes = head.split_off(n_logits);
                (
                    logits_shape.map(|s| (head, s)),
                    probes_shape.map(|s| (probes, s)),
                )
            }
        };
        let captures = plan
            .captures
            .into_iter()
            .map(|(layer, s)| next().map(|v| (layer, v, s)))
            .collect::<Result<_, _>>()?;
        Ok(ForwardReadout {
            logits,
            probes,
            captures,
            slots,
        })
    }
}

struct ReadPlan {
    logits: Option<[usize; 3]>,
    probes: Option<[usize; 3]>,
    captures: Vec<(usize, [usize; 3])>,
}

/// A Llama-family model on one burn device.
#[derive(Debug, Clone)]
pub struct LlamaModel {
    config: LlamaConfig,
    weights: Weights,
    inv_freq: Vec<f32>,
    device: Device,
    no_interventions: PreparedInterventions,
}

impl LlamaModel {
    /// Parse `bytes` (a whole GGUF file) and load the model onto `device`.
    pub fn from_gguf_bytes(
        bytes: &[u8],
        mode: WeightMode,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let gguf = Gguf::parse(bytes)?;
        Self::from_gguf(&gguf, bytes, mode, device)
    }

    /// Load from an already parsed GGUF whose file contents are `bytes`.
    pub fn from_gguf(
        gguf: &Gguf,
        bytes: &[u8],
        mode: WeightMode,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let config = LlamaConfig::from_gguf(gguf)?;
        let weights = Weights::load(gguf, bytes, &config, mode, device)?;
        Ok(Self::from_parts(config, weights, device))
    }

    /// Assemble a model from weights built elsewhere (tests build tiny random models).
    pub fn from_parts(config: LlamaConfig, weights: Weights, device: &Device) -> Self {
        let inv_freq = inverse_frequencies(config.rope_base, config.head_dim);
        let no_interventions = PreparedInterventions::none(config.n_layers);
        Self {
            config,
            weights,
            inv_freq,
            device: device.clone(),
            no_interventions,
        }
    }

    /// Hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// How the weights are stored.
    pub fn weight_mode(&self) -> WeightMode {
        self.weights.mode
    }

    /// Bytes held by the weights.
    pub fn resident_bytes(&self) -> ResidentBytes {
        self.weights.resident
    }

    /// An empty KV cache for `batch` rows.
    pub fn new_cache(&self, batch: usize) -> KvCache {
        KvCache::new(&self.config, batch, &self.device)
    }

    /// Validate and upload interventions once, for reuse across decode steps.
    pub fn prepare(
        &self,
        interventions: &Interventions,
    ) -> Result<PreparedInterventions, ModelError> {
        PreparedInterventions::new(interventions, &self.config, &self.device)
    }

    /// Run one forward pass: append `tokens[row]` to every row of `cache` and return the
    /// requested logits, probe values and captures as device tensors.
    ///
    /// Rows may have different lengths: shorter ones are left-padded (see [`KvCache`]). Every
    /// row needs at least one token. Interventions apply to every slot of this forward.
    pub fn forward(
        &self,
        cache: &mut KvCache,
        tokens: &[&[u32]],
        interventions: Option<&PreparedInterventions>,
        options: &ForwardOptions,
    ) -> Result<ForwardOutput, ModelError> {
        // In the browser's threaded module the whole pass runs on a pool thread. Called from
        // outside the pool (the inference worker), every parallel operation inside (flex's, and
        // our block kernel's) would be handed to the pool while the caller sleeps in
        // `Atomics.wait` until a woken pool thread is done: about a third of a decode step went
        // to those hand-offs, and two threads decoded no faster than one. Inside the pool a
        // split runs on the thread that makes it, and the other threads join in when they wake
        // (docs/threads.md, "Why decode gained little from a second thread"). Natively rayon
        // hands work over in microseconds, so the pass runs where it is called.
        #[cfg(all(target_arch = "wasm32", feature = "threads"))]
        if rayon::current_thread_index().is_none() {
            return rayon::scope(|_| self.forward_here(cache, tokens, interventions, options));
        }
        self.forward_here(cache, tokens, interventions, options)
    }

    /// [`LlamaModel::forward`] on the calling thread.
    fn forward_here(
        &self,
        cache: &mut KvCache,
        tokens: &[&[u32]],
        interventions: Option<&PreparedInterventions>,
        options: &ForwardOptions,
    ) -> Result<ForwardOutput, ModelError> {
        let cfg = &self.config;
        let interventions = interventions.unwrap_or(&self.no_interventions);
        self.validate(cache, tokens, interventions, options)?;
        #[cfg(webgpu)]
        if self.runs_token_by_token(cache, tokens) {
            return self.forward_token_by_token(cache, tokens[0], Some(interventions), options);
        }

        let batch = tokens.len();
        let seq = tokens.iter().map(|t| t.len()).max().unwrap_or(0);
        let start = cache.len();

        // Left-pad every row to `seq` slots.
        let slots: Vec<Vec<bool>> = tokens
            .iter()
            .map(|t| {
                let pad = seq - t.len();
                (0..seq).map(|i| i >= pad).collect()
            })
            .collect();
        let mut ids = Vec::with_capacity(batch * seq);
        for t in tokens {
            ids.extend(std::iter::repeat_n(0u32, seq - t.len()));
            ids.extend_from_slice(t);
        }
        let mut embedded = Vec::new();
        self.weights.embedding.gather_into(&ids, &mut embedded)?;
        let hidden = cfg.hidden_size;
        // Uploads before any kernel: on WebGPU a write queued behind kernels first submits
        // them (the write goes to the queue, the kernels to an encoder), one more submit per
        // token.
        let mut h: Tensor<3> = Tensor::from_data(
            TensorData::new(embedded, [batch, seq, hidden]),
            &self.device,
        );

        // From here on nothing can fail: the cache is updated.
        let positions = cache.plan_append(&slots);
        cache.reserve(seq);
        let rope = RopeAngles::new(&self.inv_freq, &positions, batch, seq, &self.device);
        let mask = build_mask(
            cache.validity(),
            start,
            seq,
            cache.capacity(),
            cfg.group_size(),
            &self.device,
        );

        // One token of one row, every slot a real token: attention can skip the mask.
        let mask = AttentionMask {
            slots: mask,
            dense_len: (batch == 1 && seq == 1 && cache.validity()[0].iter().all(|&v| v))
                .then_some(start + 1),
        };

        let mut probe_parts = Vec::new();
        let mut captures = Vec::with_capacity(options.capture_layers.len());
        for (l, w) in self.weights.layers.iter().enumerate() {
            let h2 = attention(h, w, cfg, l, &rope, &mask, cache);
            let h2 = mlp(h2, w, cfg);

            let (h2, probes) = interventions.apply(l, h2);
            if let Some(p) = probes {
                probe_parts.push(p);
            }
            h = h2.reshape([batch, seq, hidden]);
            for &c in options.capture_layers.iter().filter(|&&c| c == l) {
                captures.push((c, h.clone()));
            }
        }
        cache.commit(seq);
        // Captures come back in request order.
        captures.sort_by_key(|(layer, _)| {
            options
                .capture_layers
                .iter()
                .position(|c| c == layer)
                .unwrap_or(usize::MAX)
        });

        let probes = (!probe_parts.is_empty()).then(|| {
            let grouped = Tensor::cat(probe_parts, 1);
            let n = interventions.n_probes();
            interventions.reorder(grouped).reshape([batch, seq, n])
        });

        let logits = match options.logits {
            LogitsMode::None => None,
            LogitsMode::Last => Some(self.lm_head(h.narrow(1, seq - 1, 1))),
            LogitsMode::All => Some(self.lm_head(h)),
        };

        Ok(ForwardOutput {
            logits,
            probes,
            captures,
            slots,
        })
    }

    /// Whether this forward runs one token at a time ([`PromptPass::TokenByToken`]): several
    /// tokens of one row, on the WebGPU device, through quantized weights (the only ones our
    /// one-token mat-vec reads), after a cache whose every slot is a real token (what the
    /// one-token attention kernel needs).
    #[cfg(webgpu)]
    fn runs_token_by_token(&self, cache: &KvCache, tokens: &[&[u32]]) -> bool {
        crate::device::webgpu_shapes().prompt == PromptPass::TokenByToken
            && matches!(
                self.device.as_dispatch(),
                burn::backend::DispatchDevice::Cube(_)
            )
            && self.weights.mode == WeightMode::Quantized
            && matches!(tokens, [row] if row.len() > 1)
            && cache.validity().iter().flatten().all(|&valid| valid)
    }

    /// [`LlamaModel::forward`] of one row's `tokens` (a cache of one row) as one forward per
    /// token, joined as one forward's outputs would be: what the WebGPU device runs for a
    /// prompt on a software adapter ([`PromptPass::TokenByToken`](crate::device::PromptPass)),
    /// public so that tests can hold it to the one forward on any device. The whole forward is
    /// validated first, so no step fails on its input and an error leaves the cache unchanged.
    pub fn forward_token_by_token(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        interventions: Option<&PreparedInterventions>,
        options: &ForwardOptions,
    ) -> Result<ForwardOutput, ModelError> {
        let interventions = interventions.unwrap_or(&self.no_interventions);
        self.validate(cache, &[tokens], interventions, options)?;
        let last = tokens.len() - 1;
        let mut logits = Vec::new();
        let mut probes = Vec::new();
        let mut captures: Vec<Vec<Tensor<3>>> = vec![Vec::new(); options.capture_layers.len()];
        for (i, token) in tokens.iter().enumerate() {
            let step_options = ForwardOptions {
                logits: match options.logits {
                    LogitsMode::All => LogitsMode::Last,
                    LogitsMode::Last if i == last => LogitsMode::Last,
                    LogitsMode::Last | LogitsMode::None => LogitsMode::None,
                },
                capture_layers: options.capture_layers.clone(),
            };
            let step = self.forward_here(
                cache,
                &[std::slice::from_ref(token)],
                Some(interventions),
                &step_options,
            )?;
            logits.extend(step.logits);
            probes.extend(step.probes);
            for (joined, (_, c)) in captures.iter_mut().zip(step.captures) {
                joined.push(c);
            }
        }
        Ok(ForwardOutput {
            logits: (!logits.is_empty()).then(|| Tensor::cat(logits, 1)),
            probes: (!probes.is_empty()).then(|| Tensor::cat(probes, 1)),
            captures: options
                .capture_layers
                .iter()
                .copied()
                .zip(captures)
                .map(|(layer, parts)| (layer, Tensor::cat(parts, 1)))
                .collect(),
            slots: vec![vec![true; tokens.len()]],
        })
    }

    /// Final norm and LM head on `[b, n, hidden]`.
    fn lm_head(&self, h: Tensor<3>) -> Tensor<3> {
        let [b, n, hidden] = h.dims();
        self.weights
            .lm_head
            .forward_normed(
                h.reshape([b * n, hidden]),
                &self.weights.output_norm,
                self.config.rms_eps,
            )
            .reshape([b, n, self.config.vocab_size])
    }

    fn validate(
        &self,
        cache: &KvCache,
        tokens: &[&[u32]],
        interventions: &PreparedInterventions,
        options: &ForwardOptions,
    ) -> Result<(), ModelError> {
        let cfg = &self.config;
        if tokens.len() != cache.batch() {
            return Err(ModelError::InvalidBatch(format!(
                "{} rows given, the cache holds {}",
                tokens.len(),
                cache.batch()
            )));
        }
        if let Some(row) = tokens.iter().position(|t| t.is_empty()) {
            return Err(ModelError::InvalidBatch(format!("row {row} has no tokens")));
        }
        for &id in tokens.iter().flat_map(|t| t.iter()) {
            if id as usize >= cfg.vocab_size {
                return Err(ModelError::TokenOutOfRange {
                    id,
                    vocab: cfg.vocab_size,
                });
            }
        }
        for (row, t) in tokens.iter().enumerate() {
            let needed = cache.tokens_in_row(row) + t.len();
            if needed > cfg.context_length {
                return Err(ModelError::ContextOverflow {
                    needed,
                    limit: cfg.context_length,
                });
            }
        }
        if interventions.n_layers() != cfg.n_layers {
            return Err(ModelError::InvalidIntervention(format!(
                "prepared for {} layers, the model has {}",
                interventions.n_layers(),
                cfg.n_layers
            )));
        }
        if let Some(&l) = options.capture_layers.iter().find(|&&l| l >= cfg.n_layers) {
            return Err(ModelError::InvalidBatch(format!(
                "capture layer {l} out of range (model has {} layers)",
                cfg.n_layers
            )));
        }
        Ok(())
    }
}
