//! What the worker does with a model, without the browser: load it from bytes, answer a
//! conversation (streaming its tokens), re-read and score the answer on the axis, and compute an
//! axis in place. Every event goes to a [`Host`] as a [`FromWorker`] value; the worker
//! (`host.rs`) posts them to the page, the native tests below record them.
//!
//! What only the browser has comes through the same trait: yielding to the event loop (where
//! "Stop" is heard), the clock, the wasm memory size, and for a load ([`LoadHost`]) the compute
//! device, the model already held, the browser's cache and downloading the axis file.

use std::future::Future;

use engine::axis::{self, AxisFile, AxisPlan};
use engine::chat::{ChatMessage, ChatModel};
use engine::device::Device;
use engine::generation::{
    Generation, GenerationRequest, LogitsComparison, SamplingParams, StopReason, compare_logits,
    score_tokens,
};
use engine::model::{Interventions, WeightMode};
use sha2::{Digest, Sha256};

use super::compat;
use super::protocol::{
    Backend, FromWorker, GenerateRequest, Precision, WireAxisInfo, WireScore, WireTokenScores,
};
use super::quick_axis::{self, QuickAxisError, QuickAxisSize, QuickModel};

/// Where the answerer runs: the browser worker, or a native test.
pub trait Host {
    /// Hands an event to the page (the worker posts it; `AxisBuilt` goes with its `bytes`).
    fn emit(&self, event: FromWorker);
    /// Lets the host's event loop run (the worker: one turn, so a "Stop" message gets in);
    /// `false` when the visitor asked to stop. Loads and re-reads ignore the answer.
    fn pause(&self) -> impl Future<Output = bool>;
    /// A clock, in seconds (only differences are used).
    fn now_seconds(&self) -> f64;
    /// The worker's wasm memory, reported after each answer (`FromWorker::Done`).
    fn memory_bytes(&self) -> f64;
}

/// What a load needs besides: the device, the model held now, the cache, the axis download.
pub trait LoadHost: Host {
    /// Whether the model's bytes came from the host's cache (said in `Ready::from_cache`).
    fn loaded_from_cache(&self) -> bool;
    /// The compute device for the load's backend and how the page names it (the name depends on
    /// the weights' precision too: it names the WebGPU kernels that read quantized weights).
    fn device(
        &self,
        options: LoadOptions,
    ) -> impl Future<Output = Result<(Device, String), String>>;
    /// Drops the model held now (called after the compatibility check, before the new model
    /// is built, so that two never sit in memory at once).
    fn release_previous(&self);
    /// The new model was built from `bytes`: keep a copy for next time if the host caches
    /// models; the error, if that failed (reported once, in `Ready::cache_error`).
    fn keep_copy(&self, bytes: &[u8]) -> impl Future<Output = Option<String>>;
    /// Reads the axis file at `url` for a model of this shape ([`parse_axis`] checks it).
    fn fetch_axis(
        &self,
        url: &str,
        n_layers: usize,
        hidden: usize,
    ) -> impl Future<Output = Result<AxisFile, String>>;
}

/// The page's choices for a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    pub backend: Backend,
    pub precision: Precision,
}

/// Where the model's axis file comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisSource {
    /// Read through [`LoadHost::fetch_axis`].
    Url(String),
    /// Sent with the model (a file the visitor chose).
    Bytes { name: String, bytes: Vec<u8> },
    /// None: why (said in `Ready::axis_error`).
    Missing(String),
}

/// How an axis file computed in the browser names its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// The file name without `.gguf` (what the lab stores as `model_id`).
    pub id: String,
    /// What the model is told it is in the default prompt "You are {name}.".
    pub name: String,
    pub sha256: String,
}

/// A loaded model and what goes with it.
pub struct Loaded {
    pub model: ChatModel,
    /// The model's axis file, checked against its shape.
    pub axis: Option<AxisFile>,
    pub identity: ModelIdentity,
    /// The `Ready` event as said again after a later load fails while this model is kept:
    /// without the one-off cache notice.
    pub ready: FromWorker,
}

/// Why a load failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The compatibility check refused the file; the model held before is still held.
    #[error("{0}")]
    Refused(String),
    /// The engine could not build a model from the file (the one held before was dropped).
    #[error("the model could not be loaded: {0}")]
    Unloadable(String),
    /// The device could not start, or the warm-up step failed.
    #[error("{0}")]
    Failed(String),
}

/// `tiny.gguf` from `https://host/x/tiny.gguf?download=1`.
pub fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or(path)
        .to_owned()
}

/// How the weights are held: quantized weights on the CPU go through our kernel on the 4-bit
/// blocks (flex itself would unpack them to bytes and dequantize every matrix on every
/// product); on WebGPU through burn's packed quantized matmul.
pub fn weight_mode(options: LoadOptions) -> WeightMode {
    match (options.precision, options.backend) {
        (Precision::F32, _) => WeightMode::F32,
        (Precision::Quantized, Backend::Cpu) => WeightMode::HostBlocks,
        (Precision::Quantized, Backend::WebGpu) => WeightMode::Quantized,
    }
}

/// The compatibility check, then the heavy load: the check refuses a file before the loaded
/// model (if any) is dropped. Emits `Checked`, the `Preparing` steps and finally `Ready`.
pub async fn load(
    host: &impl LoadHost,
    bytes: Vec<u8>,
    name: &str,
    options: LoadOptions,
    axis_source: AxisSource,
) -> Result<Loaded, LoadError> {
    let info = compat::check(&bytes, name).map_err(LoadError::Refused)?;
    host.emit(FromWorker::Checked { info: info.clone() });
    host.emit(FromWorker::Preparing {
        step: "Trying the model's chat template".into(),
    });
    with_template(host, || compat::try_template(&bytes, name)).map_err(LoadError::Refused)?;
    host.emit(FromWorker::Preparing {
        step: "Starting the compute device".into(),
    });
    let (device, device_name) = host.device(options).await.map_err(LoadError::Failed)?;
    host.emit(FromWorker::Preparing {
        step: "Reading the model file and uploading the weights".into(),
    });
    host.pause().await;
    let mode = weight_mode(options);
    host.release_previous();
    let identity = ModelIdentity {
        id: name.trim_end_matches(".gguf").to_owned(),
        name: info.name.clone(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    let model =
        ChatModel::load(&bytes, mode, &device).map_err(|e| LoadError::Unloadable(e.to_string()))?;
    // The CPU copy for the WebGPU check is made while the file's bytes are still here.
    let reference = if options.backend == Backend::WebGpu && bytes.len() <= WEBGPU_CHECK_MAX_BYTES {
        host.emit(FromWorker::Preparing {
            step: "Loading a CPU copy to check WebGPU's numbers against".into(),
        });
        host.pause().await;
        // Host blocks for both precisions: the file's own values, dequantized exactly as the
        // f32 path does (engine test `host_block_mode_reproduces_the_dequantized_model…`), at
        // a quarter of an f32 copy's memory.
        Some(
            ChatModel::load(&bytes, WeightMode::HostBlocks, &engine::device::cpu())
                .map_err(|e| LoadError::Unloadable(e.to_string()))?,
        )
    } else {
        None
    };
    let cache_error = host.keep_copy(&bytes).await;
    drop(bytes);
    host.emit(FromWorker::Preparing {
        step: if reference.is_some() {
            "Checking WebGPU's numbers against the CPU (and compiling GPU shaders)".into()
        } else {
            "Warming up (compiling GPU shaders)".into()
        },
    });
    host.pause().await;
    let webgpu_check = match reference {
        Some(reference) => Some(check_webgpu(&model, &reference).await?),
        None => {
            warm_up(&model).await.map_err(LoadError::Failed)?;
            None
        }
    };
    let bytes = model.model().resident_bytes();
    // WebGPU stores 4-bit values packed; the CPU backend unpacks them to one byte each.
    let device_bytes = if options.backend == Backend::WebGpu {
        bytes.device_packed
    } else {
        bytes.device_flex
    };
    let resident = (bytes.host + device_bytes) as f64;
    let n_layers = model.model().config().n_layers;
    let hidden = model.model().config().hidden_size;
    let axis = match axis_source {
        AxisSource::Url(axis_url) => {
            host.emit(FromWorker::Preparing {
                step: "Reading the Assistant Axis file".into(),
            });
            host.fetch_axis(&axis_url, n_layers, hidden).await
        }
        AxisSource::Bytes { name, bytes } => parse_axis(&name, &bytes, n_layers, hidden),
        AxisSource::Missing(why) => Err(why),
    };
    let (axis, axis_error) = match axis {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e)),
    };
    let axis_info: Option<WireAxisInfo> = axis
        .as_ref()
        .map(|a| WireAxisInfo::of(a, Some(&identity.sha256)));
    let ready = FromWorker::Ready {
        backend: options.backend,
        precision: options.precision,
        device: device_name,
        resident_bytes: resident,
        n_layers,
        axis: axis_info,
        axis_error,
        from_cache: host.loaded_from_cache(),
        cache_error,
        model: Some(info),
        webgpu_check,
    };
    let mut kept = ready.clone();
    if let FromWorker::Ready { cache_error, .. } = &mut kept {
        *cache_error = None;
    }
    host.emit(ready);
    Ok(Loaded {
        model,
        axis,
        identity,
        ready: kept,
    })
}

/// Reads and checks an axis file (`url` names it in messages); every failure becomes a
/// sentence for the page.
pub fn parse_axis(
    url: &str,
    bytes: &[u8],
    n_layers: usize,
    hidden: usize,
) -> Result<AxisFile, String> {
    let axis = AxisFile::from_bytes(bytes).map_err(|e| format!("{url}: {e}"))?;
    axis.check_model(n_layers, hidden)
        .map_err(|e| format!("{url} does not fit the loaded model: {e}"))?;
    Ok(axis)
}

/// Decode steps the WebGPU check runs after its prompt: they run the engine's own WebGPU
/// kernels (the prompt runs burn's), and warm them up for the first answer.
pub const WEBGPU_CHECK_STEPS: usize = 2;

/// The largest |Δ logit| the WebGPU check lets through. Both copies hold the same weights and
/// differ only in the order of their sums: on SwiftShader that is about 1e-4 (`cargo xtask
/// bench` and the WebGPU browser test report it); a driver that computes wrong numbers is off by
/// whole units. Logits here are in the tens, so 0.05 leaves room for a real GPU's rounding.
pub const WEBGPU_CHECK_LIMIT: f32 = 0.05;

/// Files up to this size get the WebGPU check: it holds a CPU copy of the model beside the
/// GPU one for a moment, which a large model may not have room for in the worker.
pub const WEBGPU_CHECK_MAX_BYTES: usize = 400 << 20;

/// The WebGPU copy reads a short conversation beside a CPU copy of the same file; the load
/// fails, saying why, when their logits disagree beyond rounding — a WebGPU implementation that
/// computes wrong numbers would otherwise answer fluently and wrongly.
pub async fn check_webgpu(
    model: &ChatModel,
    reference: &ChatModel,
) -> Result<LogitsComparison, LoadError> {
    let prompt = reference
        .prompt_tokens(&[ChatMessage::user("Hi")])
        .map_err(|e| LoadError::Failed(e.to_string()))?;
    let check = compare_logits(
        model.model(),
        reference.model(),
        &prompt,
        WEBGPU_CHECK_STEPS,
    )
    .await
    .map_err(|e| LoadError::Failed(format!("WebGPU failed its check against the CPU: {e}")))?;
    // `compare_logits` refuses NaN logits, so the difference is a number here.
    if check.max_abs_diff > WEBGPU_CHECK_LIMIT {
        return Err(LoadError::Failed(format!(
            "WebGPU on this device computes different numbers than the CPU (logits differ by up to {:.3}, more than {WEBGPU_CHECK_LIMIT} from rounding): load the model on the CPU backend instead.",
            check.max_abs_diff
        )));
    }
    Ok(check)
}

/// Runs `f`, which renders the model's chat template, between `TemplateStarted` and
/// `TemplateFinished`: the page's time limit for a template that never finishes.
fn with_template<T, E>(host: &impl Host, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    host.emit(FromWorker::TemplateStarted);
    let result = f();
    host.emit(FromWorker::TemplateFinished);
    result
}

/// One short forward, so the first real answer does not pay for shader compilation.
pub async fn warm_up(model: &ChatModel) -> Result<(), String> {
    let prepared = model
        .model()
        .prepare(&Interventions::none())
        .map_err(|e| e.to_string())?;
    let request = GenerationRequest {
        prompt: model
            .prompt_tokens(&[ChatMessage::user("Hi")])
            .map_err(|e| e.to_string())?,
        max_new_tokens: 1,
        sampling: SamplingParams::greedy(),
        stop_tokens: model.stop_tokens(),
        earlier_answers: Vec::new(),
    };
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    generation.next().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// What one answer runs on: the worker's model and axis file.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub model: &'a ChatModel,
    pub axis: Option<&'a AxisFile>,
}

/// Writes the answer `request` asks for: emits a `Token` per generated token (and one for a
/// trailing partial character), then `Done` with the answer's scores when there is an axis.
/// Stops early when [`Host::pause`] says so. An error (nothing emitted after it) is the
/// caller's to report as `Failed { id }`.
pub async fn generate(
    host: &impl Host,
    job: Job<'_>,
    request: &GenerateRequest,
) -> Result<(), String> {
    let GenerateRequest {
        id,
        ref messages,
        ref settings,
        capping,
        steering,
    } = *request;
    let model = job.model;
    let started = host.now_seconds();
    let messages: Vec<ChatMessage> = messages
        .iter()
        .map(|m| ChatMessage {
            role: m.role.clone(),
            content: m.content.clone(),
        })
        .collect();
    // Capping needs the axis; asking for it without one is an error, not a silent default.
    let steering = steering.filter(|a| *a != 0.0);
    let plan: Option<AxisPlan> = match (job.axis, capping.as_ref(), steering) {
        (Some(axis), capping, steering) => Some(axis::plan(axis, capping, steering)?),
        (None, Some(_), _) => {
            return Err("capping needs the axis file, which is not loaded".into());
        }
        (None, None, Some(_)) => {
            return Err("steering needs the axis file, which is not loaded".into());
        }
        (None, None, None) => None,
    };
    // Context policy: drop the oldest turns rather than fail when the conversation grew too long.
    let (fitted, earlier_answers) = with_template(host, || {
        let fitted = model.fit_prompt(&messages, settings.max_new_tokens)?;
        Ok((fitted, model.earlier_answers(&messages)?))
    })
    .map_err(|e: engine::chat::ChatError| e.to_string())?;
    let dropped_messages = fitted.dropped_messages;
    let prompt = fitted.tokens;
    let prompt_tokens = prompt.len();
    let request = GenerationRequest {
        prompt,
        max_new_tokens: settings.max_new_tokens,
        sampling: SamplingParams {
            temperature: settings.temperature,
            top_k: 0,
            top_p: settings.top_p,
            frequency_penalty: settings.frequency_penalty,
            echo_penalty: settings.echo_penalty,
            seed: settings.seed,
        },
        stop_tokens: model.stop_tokens(),
        earlier_answers,
    };
    let interventions = plan
        .as_ref()
        .map_or_else(Interventions::none, |p| p.interventions.clone());
    let prepared = model
        .model()
        .prepare(&interventions)
        .map_err(|e| e.to_string())?;
    let mut generation = Generation::start(model.model(), &prepared, &request)
        .await
        .map_err(|e| e.to_string())?;
    let mut decoder = model.stream_decoder();
    let mut text = String::new();
    let mut stop = "stopped".to_owned();
    let mut answer_ids = Vec::new();
    // Probe rows of the answer's tokens (the stop token has none: it is never fed back).
    let mut answer_probes: Vec<Vec<f32>> = Vec::new();
    // The text each answer token added, for the heatmap.
    let mut pieces: Vec<String> = Vec::new();
    // Time to the first token: prompt rendering, prefill and the first sample (what a visitor
    // waits before text appears); the rest is decode.
    let mut first_token_seconds = None;
    while let Some(token) = generation.next().await.map_err(|e| e.to_string())? {
        first_token_seconds.get_or_insert_with(|| host.now_seconds() - started);
        if let Some(StopReason::StopToken(_)) = token.stop {
            stop = "end of turn".into();
            break;
        }
        answer_ids.push(token.id);
        if let Some(p) = token.probes {
            answer_probes.push(p);
        }
        let piece = decoder.push(token.id);
        text.push_str(&piece);
        pieces.push(piece.clone());
        host.emit(FromWorker::Token {
            id,
            token: token.id,
            text: piece,
        });
        if token.stop == Some(StopReason::MaxTokens) {
            stop = "max tokens".into();
            break;
        }
        // Let the "stop" message in between tokens.
        if !host.pause().await {
            break;
        }
    }
    let tail = decoder.finish();
    if !tail.is_empty() {
        text.push_str(&tail);
        if let Some(last) = pieces.last_mut() {
            last.push_str(&tail);
        }
        host.emit(FromWorker::Token {
            id,
            token: u32::MAX,
            text: tail,
        });
    }
    let tokens = generation.generated();
    // Generation time only: the re-read for the Text score below is not part of the tok/s.
    let seconds = host.now_seconds() - started;
    let (score, token_scores) = match (&plan, job.axis) {
        (Some(plan), Some(axis)) => {
            let margin_rows = generation.prompt_probes().iter().chain(&answer_probes);
            let cap_margin = plan.cap_margin(margin_rows);
            drop(generation);
            let reread = reread_answer(host, model, axis, &request.prompt, &answer_ids).await?;
            let score = plan.score(&answer_probes).and_then(|activations| {
                let text = reread.reader.score(&reread.rows)?;
                Some(WireScore {
                    activations,
                    text,
                    cap_margin,
                    persona_activations: plan.persona(&answer_probes),
                    persona_text: reread.reader.persona(&reread.rows),
                })
            });
            let tokens = WireTokenScores {
                pieces,
                activations: plan.token_scores(&answer_probes),
                text: reread.reader.token_scores(&reread.rows),
            };
            (score, Some(tokens))
        }
        _ => (None, None),
    };
    host.emit(FromWorker::Done {
        id,
        text,
        stop,
        tokens,
        prompt_tokens,
        dropped_messages,
        seconds,
        first_token_seconds,
        score,
        token_scores,
        worker_memory_bytes: host.memory_bytes(),
    });
    Ok(())
}

/// The uncapped, unsteered model re-reading prompt + answer in one prefill: the "Text" view.
pub struct Reread {
    pub reader: AxisPlan,
    /// Probe rows of the answer's tokens.
    pub rows: Vec<Vec<f32>>,
}

/// For an uncapped answer the re-read sees what the generation saw, so the two scores must agree
/// up to rounding (the tests check this); it costs one prefill.
pub async fn reread_answer(
    host: &impl Host,
    model: &ChatModel,
    axis: &AxisFile,
    prompt: &[u32],
    answer_ids: &[u32],
) -> Result<Reread, String> {
    let reader = axis::plan(axis, None, None)?;
    if answer_ids.is_empty() {
        return Ok(Reread {
            reader,
            rows: Vec::new(),
        });
    }
    let prepared = model
        .model()
        .prepare(&reader.interventions)
        .map_err(|e| e.to_string())?;
    let mut tokens = prompt.to_vec();
    tokens.extend_from_slice(answer_ids);
    host.pause().await;
    let read = score_tokens(model.model(), &prepared, &tokens)
        .await
        .map_err(|e| format!("re-reading the answer failed: {e}"))?;
    let rows = read.probes.get(prompt.len()..).unwrap_or(&[]).to_vec();
    Ok(Reread { reader, rows })
}

/// Runs the quick axis build (`quick_axis`), emitting `AxisProgress`, then `AxisBuilt` with the
/// file's bytes (the page offers them as a download) or `AxisBuildFailed` (cancelled when
/// [`Host::pause`] said stop). Returns the new axis for the caller to use from now on.
pub async fn build_axis(
    host: &impl Host,
    model: &ChatModel,
    identity: &ModelIdentity,
    size: QuickAxisSize,
    seed: u64,
) -> Option<AxisFile> {
    let started = host.now_seconds();
    let plan = quick_axis::plan(size, &identity.name);
    let result = quick_axis::run(
        QuickModel {
            chat: model,
            id: &identity.id,
            sha256: &identity.sha256,
        },
        &plan,
        size,
        seed,
        |p| {
            host.emit(FromWorker::AxisProgress {
                answers_done: p.answers_done,
                answers_total: p.answers_total,
                tokens: p.tokens,
                seconds: host.now_seconds() - started,
            })
        },
        || host.pause(),
    )
    .await;
    let file = match result {
        Ok(file) => file,
        Err(e) => {
            host.emit(FromWorker::AxisBuildFailed {
                cancelled: matches!(e, QuickAxisError::Cancelled),
                message: e.to_string(),
            });
            return None;
        }
    };
    let bytes = match file.to_bytes() {
        Ok(b) => b,
        Err(e) => {
            host.emit(FromWorker::AxisBuildFailed {
                message: format!("the axis could not be written: {e}"),
                cancelled: false,
            });
            return None;
        }
    };
    let tokens = file
        .meta
        .build
        .get("tokens")
        .and_then(|t| t.as_u64())
        .unwrap_or(0) as usize;
    host.emit(FromWorker::AxisBuilt {
        axis: WireAxisInfo::of(&file, None),
        file_name: format!("{}.axis.safetensors", identity.id),
        answers: plan.jobs.len(),
        tokens,
        seconds: host.now_seconds() - started,
        bytes,
    });
    Some(file)
}

#[cfg(test)]
mod tests {
    //! The answerer on the shipped model (quantized weights on burn's CPU backend, the browser's
    //! CPU path), natively. The model is found at `$AXIS_MODEL_PATH`, else in `public/models/`
    //! (`cargo xtask fetch-model`); a missing model fails these tests, never skips them.

    use std::cell::{Cell, RefCell};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;
    use std::time::Instant;

    use super::*;
    use crate::worker::protocol::{WireGenerationSettings, WireMessage};

    const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
    const AXIS_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.axis.safetensors";

    fn model_path() -> PathBuf {
        match std::env::var_os("AXIS_MODEL_PATH") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("public/models")
                .join(MODEL_FILE),
        }
    }

    fn axis_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("public/axes")
            .join(AXIS_FILE)
    }

    fn read(path: &Path, what: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{what} missing: run `cargo xtask fetch-model` ({}: {e}; AXIS_MODEL_PATH overrides the model's location)",
                path.display()
            )
        })
    }

    /// Records what the answerer emits; `stop_at` makes the n-th pause (from 1) and every
    /// later one say "stop".
    struct Recorder {
        events: RefCell<Vec<FromWorker>>,
        pauses: Cell<usize>,
        stop_at: Option<usize>,
        /// How many events had been emitted when the held model was released, per release.
        releases: RefCell<Vec<usize>>,
        kept_copies: Cell<usize>,
        clock: Instant,
    }

    impl Recorder {
        fn new() -> Recorder {
            Recorder::stopping_at(None)
        }

        fn stopping_at(stop_at: Option<usize>) -> Recorder {
            Recorder {
                events: RefCell::new(Vec::new()),
                pauses: Cell::new(0),
                stop_at,
                releases: RefCell::new(Vec::new()),
                kept_copies: Cell::new(0),
                clock: Instant::now(),
            }
        }

        fn events(self) -> Vec<FromWorker> {
            self.events.into_inner()
        }
    }

    impl Host for Recorder {
        fn emit(&self, event: FromWorker) {
            self.events.borrow_mut().push(event);
        }

        async fn pause(&self) -> bool {
            let n = self.pauses.get() + 1;
            self.pauses.set(n);
            self.stop_at.is_none_or(|at| n < at)
        }

        fn now_seconds(&self) -> f64 {
            self.clock.elapsed().as_secs_f64()
        }

        fn memory_bytes(&self) -> f64 {
            0.0
        }
    }

    impl LoadHost for Recorder {
        fn loaded_from_cache(&self) -> bool {
            false
        }

        async fn device(&self, options: LoadOptions) -> Result<(Device, String), String> {
            match options.backend {
                Backend::Cpu => Ok((engine::device::cpu(), "CPU (burn flex)".to_owned())),
                Backend::WebGpu => Err("no WebGPU in native tests".to_owned()),
            }
        }

        fn release_previous(&self) {
            self.releases.borrow_mut().push(self.events.borrow().len());
        }

        async fn keep_copy(&self, _bytes: &[u8]) -> Option<String> {
            self.kept_copies.set(self.kept_copies.get() + 1);
            None
        }

        async fn fetch_axis(
            &self,
            url: &str,
            n_layers: usize,
            hidden: usize,
        ) -> Result<AxisFile, String> {
            let bytes = std::fs::read(url).map_err(|e| format!("{url}: {e}"))?;
            parse_axis(url, &bytes, n_layers, hidden)
        }
    }

    const CPU_QUANTIZED: LoadOptions = LoadOptions {
        backend: Backend::Cpu,
        precision: Precision::Quantized,
    };

    /// The shipped model loaded once from its bytes with its axis file's bytes, shared by the
    /// tests, with what the load emitted.
    struct Shared {
        loaded: Loaded,
        events: Vec<FromWorker>,
        releases: Vec<usize>,
        kept_copies: usize,
        seconds: f64,
    }

    fn shared() -> &'static Shared {
        static SHARED: OnceLock<Shared> = OnceLock::new();
        SHARED.get_or_init(|| {
            let bytes = read(&model_path(), "model");
            let axis = AxisSource::Bytes {
                name: AXIS_FILE.to_owned(),
                bytes: read(&axis_path(), "axis file"),
            };
            let host = Recorder::new();
            let started = Instant::now();
            let loaded = pollster::block_on(load(&host, bytes, MODEL_FILE, CPU_QUANTIZED, axis))
                .expect("the shipped model loads");
            let seconds = started.elapsed().as_secs_f64();
            Shared {
                loaded,
                releases: host.releases.take(),
                kept_copies: host.kept_copies.get(),
                events: host.events(),
                seconds,
            }
        })
    }

    fn greedy(max_new_tokens: usize) -> WireGenerationSettings {
        WireGenerationSettings {
            temperature: 0.0,
            top_p: 1.0,
            frequency_penalty: 0.0,
            echo_penalty: 0.0,
            seed: 1,
            max_new_tokens,
        }
    }

    fn ask(question: &str) -> Vec<WireMessage> {
        vec![WireMessage {
            role: "user".into(),
            content: question.into(),
        }]
    }

    const QUESTION: &str = "What is the capital of France?";

    /// Answers [`QUESTION`] greedily on the shared model and returns the events.
    fn answer(host: Recorder, job: Job<'_>, request: &GenerateRequest) -> Vec<FromWorker> {
        pollster::block_on(generate(&host, job, request)).expect("the answer is generated");
        host.events()
    }

    /// The shared model with its axis file.
    fn job() -> Job<'static> {
        let loaded = &shared().loaded;
        Job {
            model: &loaded.model,
            axis: loaded.axis.as_ref(),
        }
    }

    /// [`QUESTION`], answered greedily in at most `max_new_tokens` tokens, as answer 7.
    fn question(
        capping: Option<engine::axis::CapSetting>,
        steering: Option<f32>,
        max_new_tokens: usize,
    ) -> GenerateRequest {
        GenerateRequest {
            id: 7,
            messages: ask(QUESTION),
            settings: greedy(max_new_tokens),
            capping,
            steering,
        }
    }

    /// The `Token` events (their ids and texts) and the final `Done`, after the template's
    /// `TemplateStarted` and `TemplateFinished`; panics on anything else.
    fn split(events: &[FromWorker]) -> (Vec<(u32, String)>, &FromWorker) {
        let [
            FromWorker::TemplateStarted,
            FromWorker::TemplateFinished,
            events @ ..,
        ] = events
        else {
            panic!("the template runs first: {events:?}");
        };
        let (done, tokens) = events.split_last().expect("events were emitted");
        assert!(matches!(done, FromWorker::Done { id: 7, .. }), "{done:?}");
        let tokens = tokens
            .iter()
            .map(|e| match e {
                FromWorker::Token { id: 7, token, text } => (*token, text.clone()),
                other => panic!("expected a token of answer 7, got {other:?}"),
            })
            .collect();
        (tokens, done)
    }

    #[test]
    fn a_model_file_name_is_taken_from_its_address() {
        assert_eq!(file_name("https://h/x/tiny.gguf?download=1"), "tiny.gguf");
        assert_eq!(file_name("/models/a.gguf#frag"), "a.gguf");
        assert_eq!(file_name("models/dir/"), "dir");
        assert_eq!(file_name("plain.gguf"), "plain.gguf");
    }

    #[test]
    fn the_shipped_model_loads_from_its_bytes_with_its_axis() {
        let shared = shared();
        println!("load (bytes to Ready): {:.2} s", shared.seconds);
        let steps: Vec<&str> = shared
            .events
            .iter()
            .filter_map(|e| match e {
                FromWorker::Preparing { step } => Some(step.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            steps,
            [
                "Trying the model's chat template",
                "Starting the compute device",
                "Reading the model file and uploading the weights",
                "Warming up (compiling GPU shaders)",
            ]
        );
        let [
            FromWorker::Checked { info },
            FromWorker::Preparing { .. },
            FromWorker::TemplateStarted,
            FromWorker::TemplateFinished,
            FromWorker::Preparing { .. },
            FromWorker::Preparing { .. },
            FromWorker::Preparing { .. },
            ready @ FromWorker::Ready { .. },
        ] = shared.events.as_slice()
        else {
            panic!("unexpected load events: {:?}", shared.events);
        };
        assert_eq!(info.file_name, MODEL_FILE);
        assert_eq!((info.architecture.as_str(), info.n_layers), ("llama", 30));
        // The held model is released after the check and the device, before the weights load.
        assert_eq!(shared.releases, [6]);
        assert_eq!(shared.kept_copies, 1);
        let FromWorker::Ready {
            backend,
            precision,
            device,
            resident_bytes,
            n_layers,
            axis,
            axis_error,
            from_cache,
            cache_error,
            model,
            webgpu_check,
        } = ready
        else {
            unreachable!()
        };
        assert_eq!((*backend, *precision), (Backend::Cpu, Precision::Quantized));
        assert_eq!(device, "CPU (burn flex)");
        assert_eq!(*n_layers, 30);
        assert!(
            *resident_bytes > 50e6 && *resident_bytes < 400e6,
            "{resident_bytes}"
        );
        assert_eq!(
            (axis_error, from_cache, cache_error),
            (&None, &false, &None)
        );
        assert_eq!(model.as_ref(), Some(info));
        assert_eq!(
            *webgpu_check, None,
            "only a WebGPU copy is checked against the CPU"
        );
        let axis = axis.as_ref().expect("the axis file fits the model");
        assert_eq!(axis.model_id, "SmolLM2-135M-Instruct.Q4_1");
        // The shipped axis records the shipped model's sha256: no "other model" warning.
        assert_eq!(axis.other_model, None);
        let loaded = &shared.loaded;
        assert_eq!(loaded.ready, *ready, "said again as it was said");
        assert_eq!(
            loaded.identity,
            ModelIdentity {
                id: "SmolLM2-135M-Instruct.Q4_1".into(),
                name: info.name.clone(),
                sha256: loaded.axis.as_ref().unwrap().meta.model_sha256.clone(),
            }
        );
    }

    #[test]
    fn files_that_are_no_model_are_refused_before_the_held_model_is_dropped() {
        let whole = read(&model_path(), "model");
        for (name, bytes) in [
            (
                "notes.gguf",
                b"<!doctype html><html>not a model</html>".to_vec(),
            ),
            ("cut.gguf", whole[..whole.len() / 2].to_vec()),
        ] {
            let host = Recorder::new();
            let out = pollster::block_on(load(
                &host,
                bytes,
                name,
                CPU_QUANTIZED,
                AxisSource::Missing("none".into()),
            ));
            match out {
                Err(LoadError::Refused(message)) => {
                    assert!(message.contains(name), "{message}");
                }
                Err(other) => panic!("{name}: expected a refusal, got {other:?}"),
                Ok(_) => panic!("{name} loaded"),
            }
            assert!(host.releases.borrow().is_empty(), "{name}");
            assert!(host.events().is_empty(), "{name}");
        }
    }

    /// `model` with its chat template replaced by `source` in place: padded with a Jinja comment
    /// to the old template's length, so no offset in the file moves.
    fn with_chat_template(model: &[u8], source: &str) -> Vec<u8> {
        let gguf = engine::gguf::Gguf::parse(model).expect("the shipped model parses");
        let old = gguf
            .get_str("tokenizer.chat_template")
            .expect("the shipped model has a template")
            .as_bytes();
        let at = model
            .windows(old.len())
            .position(|w| w == old)
            .expect("the template's bytes are in the file");
        let filler = old.len() - source.len() - 4;
        let new = format!("{source}{{#{}#}}", " ".repeat(filler));
        let mut bytes = model.to_vec();
        bytes[at..at + old.len()].copy_from_slice(new.as_bytes());
        bytes
    }

    /// A template that fails on the conversations the load renders is refused before the held
    /// model is dropped, between `TemplateStarted` and `TemplateFinished` (the page's time
    /// limit covers a template that never finishes).
    #[test]
    fn a_model_whose_chat_template_fails_is_refused_before_the_held_model_is_dropped() {
        let bytes = with_chat_template(
            &read(&model_path(), "model"),
            "{% if messages|length > 1 %}{{ raise_exception('two turns') }}{% endif %}",
        );
        let host = Recorder::new();
        let out = pollster::block_on(load(
            &host,
            bytes,
            "odd.gguf",
            CPU_QUANTIZED,
            AxisSource::Missing("none".into()),
        ));
        let Err(LoadError::Refused(message)) = out else {
            panic!("expected a refusal");
        };
        assert!(
            message.starts_with("odd.gguf's chat template cannot be used:")
                && message.contains("two turns"),
            "{message}"
        );
        assert!(host.releases.borrow().is_empty());
        let events = host.events();
        assert!(
            matches!(
                events.as_slice(),
                [
                    FromWorker::Checked { .. },
                    FromWorker::Preparing { .. },
                    FromWorker::TemplateStarted,
                    FromWorker::TemplateFinished,
                ]
            ),
            "{events:?}"
        );
    }

    /// The axis file's address goes to the host ([`LoadHost::fetch_axis`]); when it cannot be
    /// read the model still loads, and answers unscored.
    #[test]
    fn a_model_whose_axis_file_cannot_be_read_loads_and_answers_unscored() {
        let host = Recorder::new();
        let missing = axis_path().with_file_name("no-such.axis.safetensors");
        let missing = missing.to_string_lossy().into_owned();
        let loaded = pollster::block_on(load(
            &host,
            read(&model_path(), "model"),
            MODEL_FILE,
            CPU_QUANTIZED,
            AxisSource::Url(missing.clone()),
        ))
        .expect("the model loads without its axis");
        let events = host.events();
        assert!(matches!(
            &events[events.len() - 2],
            FromWorker::Preparing { step } if step == "Reading the Assistant Axis file"
        ));
        let Some(FromWorker::Ready {
            axis: None,
            axis_error: Some(why),
            ..
        }) = events.last()
        else {
            panic!("{:?}", events.last())
        };
        assert!(why.starts_with(&missing), "{why}");
        assert!(loaded.axis.is_none());
        let job = Job {
            model: &loaded.model,
            axis: None,
        };
        let events = answer(Recorder::new(), job, &question(None, None, 2));
        let (_, done) = split(&events);
        assert!(
            matches!(
                done,
                FromWorker::Done {
                    tokens: 2,
                    score: None,
                    token_scores: None,
                    ..
                }
            ),
            "{done:?}"
        );
    }

    #[test]
    fn an_axis_file_of_another_shape_leaves_the_model_unscored() {
        let bytes = read(&axis_path(), "axis file");
        let err = parse_axis("x.axis.safetensors", &bytes, 24, 576).expect_err("wrong depth");
        assert!(err.starts_with("x.axis.safetensors does not fit"), "{err}");
        let err = parse_axis("y", b"garbage", 30, 576).expect_err("garbage");
        assert!(err.starts_with("y: "), "{err}");
    }

    #[test]
    fn a_short_greedy_answer_streams_its_tokens_then_done_with_finite_scores() {
        let started = Instant::now();
        let events = answer(Recorder::new(), job(), &question(None, None, 6));
        println!(
            "6 tokens + re-read: {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let (tokens, done) = split(&events);
        let FromWorker::Done {
            text,
            stop,
            tokens: generated,
            prompt_tokens,
            dropped_messages,
            first_token_seconds,
            score,
            token_scores,
            ..
        } = done
        else {
            unreachable!()
        };
        let streamed: String = tokens.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(&streamed, text, "the tokens spell the answer");
        assert!(!text.trim().is_empty());
        assert_eq!((stop.as_str(), *generated), ("max tokens", 6));
        let real = tokens.iter().filter(|(id, _)| *id != u32::MAX).count();
        assert_eq!(real, 6);
        assert!(*prompt_tokens > 5 && *dropped_messages == 0);
        assert!(first_token_seconds.is_some_and(|s| s >= 0.0));
        let score = score.expect("scored with the axis");
        assert!(
            score.activations.is_finite() && score.text.is_finite(),
            "{score:?}"
        );
        // Uncapped and unsteered, the re-read sees what the generation saw.
        assert!(
            (score.activations - score.text).abs() < 1e-3 * score.activations.abs().max(1.0),
            "{score:?}"
        );
        assert_eq!(score.cap_margin, None);
        let persona = score.persona_activations.zip(score.persona_text);
        assert!(persona.is_some_and(|(a, t)| a.iter().chain(&t).all(|v| v.is_finite())));
        let per_token = token_scores.as_ref().expect("per-token scores");
        assert_eq!(per_token.pieces.concat(), *text);
        assert_eq!((per_token.activations.len(), per_token.text.len()), (6, 6));
        assert!(
            per_token
                .activations
                .iter()
                .chain(&per_token.text)
                .all(|v| v.is_finite())
        );
    }

    /// The monitor layer lies below the capped band, so the cap changes nothing there: the
    /// capped answer's own monitor-layer readings equal those of the uncapped re-read of the same
    /// tokens (which the model at layers up to the monitor sees alike), token by token, although
    /// the cap does change the answer. And the cap, a floor, holds at every capped layer and
    /// position.
    #[test]
    fn capping_changes_nothing_below_the_capped_band() {
        let axis = shared().loaded.axis.as_ref().expect("axis");
        // The paper's band, above the monitor layer, whatever band the file's default names.
        let cap = engine::axis::CapSetting {
            first_layer: 22,
            last_layer: 25,
            percentile: engine::axis::Percentile::whole(75),
        };
        assert!(axis.meta.monitor_layer < cap.first_layer, "{cap:?}");
        let run = |capping| {
            let events = answer(Recorder::new(), job(), &question(capping, None, 6));
            let (tokens, done) = split(&events);
            let FromWorker::Done {
                score: Some(score),
                token_scores: Some(per_token),
                ..
            } = done
            else {
                panic!("unscored: {done:?}")
            };
            let ids: Vec<u32> = tokens.iter().map(|(id, _)| *id).collect();
            (ids, *score, per_token.clone())
        };
        let (free_ids, free, _) = run(None);
        let (capped_ids, capped, rows) = run(Some(cap));
        // Measured: this cap (p75 at layers 22-25) changes the first token already;
        // without that this test would compare an uncapped answer with itself.
        assert_ne!(free_ids, capped_ids, "the cap did not change the answer");
        // Rounding only (measured −6e-4 here, on projections of tens): an unapplied cap would
        // leave projections well below τ, the file's 75th percentile.
        let margin = capped.cap_margin.expect("a capped answer has a margin");
        assert!(margin >= -5e-3, "the cap floor was crossed by {margin}");
        assert_eq!(free.cap_margin, None);
        assert_eq!(rows.activations.len(), 6);
        for (i, (a, t)) in rows.activations.iter().zip(&rows.text).enumerate() {
            assert!(
                (a - t).abs() < 1e-3 * a.abs().max(1.0),
                "token {i}: {a} as generated under the cap, {t} re-read uncapped"
            );
        }
    }

    #[test]
    fn a_stop_between_tokens_ends_the_answer_with_what_it_has() {
        // The first pause comes after the first token.
        let events = answer(
            Recorder::stopping_at(Some(1)),
            job(),
            &question(None, None, 6),
        );
        let (tokens, done) = split(&events);
        assert_eq!(tokens.iter().filter(|(id, _)| *id != u32::MAX).count(), 1);
        let FromWorker::Done {
            stop,
            tokens,
            score,
            ..
        } = done
        else {
            unreachable!()
        };
        assert_eq!((stop.as_str(), *tokens), ("stopped", 1));
        assert!(score.is_some_and(|s| s.activations.is_finite()));
    }

    #[test]
    fn capping_or_steering_without_an_axis_is_refused_and_plain_answers_are_unscored() {
        let shared = shared();
        let model = &shared.loaded.model;
        let cap = shared.loaded.axis.as_ref().expect("axis").meta.cap;
        let bare = Job { model, axis: None };
        for (request, why) in [
            (question(Some(cap), None, 2), "capping needs the axis file"),
            (question(None, Some(1.0), 2), "steering needs the axis file"),
        ] {
            let host = Recorder::new();
            let err = pollster::block_on(generate(&host, bare, &request)).expect_err("refused");
            assert!(err.starts_with(why), "{err}");
            assert!(host.events().is_empty());
        }
        // Steering 0 is no steering.
        let events = answer(Recorder::new(), bare, &question(None, Some(0.0), 2));
        let (_, done) = split(&events);
        assert!(
            matches!(
                done,
                FromWorker::Done {
                    tokens: 2,
                    score: None,
                    token_scores: None,
                    ..
                }
            ),
            "{done:?}"
        );
    }

    #[test]
    fn a_quick_axis_build_reports_progress_then_hands_over_its_file() {
        let loaded = &shared().loaded;
        let size = QuickAxisSize {
            roles: 2,
            questions: 1,
            max_new_tokens: 4,
        };
        let host = Recorder::new();
        let started = Instant::now();
        let file = pollster::block_on(build_axis(&host, &loaded.model, &loaded.identity, size, 3))
            .expect("an axis is built");
        println!(
            "quick build, 7 answers of 4 tokens: {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let events = host.events();
        let (last, progress) = events.split_last().expect("events");
        assert!(!progress.is_empty());
        assert!(progress.iter().all(|e| matches!(
            e,
            FromWorker::AxisProgress {
                answers_total: 7,
                ..
            }
        )));
        let FromWorker::AxisBuilt {
            axis,
            file_name,
            answers,
            bytes,
            ..
        } = last
        else {
            panic!("expected AxisBuilt, got {last:?}")
        };
        assert_eq!(file_name, "SmolLM2-135M-Instruct.Q4_1.axis.safetensors");
        assert_eq!(*answers, 7);
        let again = AxisFile::from_bytes(bytes).expect("the handed-over bytes are an axis file");
        assert_eq!(again.meta.model_sha256, loaded.identity.sha256);
        assert_eq!(again.meta.n_layers, file.meta.n_layers);
        assert_eq!(*axis, WireAxisInfo::of(&file, None));

        // Cancelled at the first pause: no file, and the page is told it was cancelled.
        let host = Recorder::stopping_at(Some(1));
        let none = pollster::block_on(build_axis(&host, &loaded.model, &loaded.identity, size, 3));
        assert!(none.is_none());
        let events = host.events();
        assert!(
            matches!(
                events.last(),
                Some(FromWorker::AxisBuildFailed {
                    cancelled: true,
                    ..
                })
            ),
            "{events:?}"
        );
    }
}
