//! Loading the model: where it runs (WebGPU or CPU), in which precision, and the progress.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use crate::backend_choice::{self, preselect};
use crate::backend_choice::{GpuOffer, default_backend};
use crate::byo::ModelSource;
use crate::components::byo_panel::ByoPanel;
use crate::platform::webgpu::{WebGpuStatus, format_bytes};
use crate::preferences;
use crate::session::AppState;
use crate::state::EngineStatus;
use crate::worker::protocol::{Backend, Precision};

#[component]
pub fn ModelPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The last choice is remembered (a visitor who found WebGPU slow keeps the CPU).
    // Unless the person picked one, the backend measured clearly faster in this browser is
    // preselected (`backend_choice`), saying so.
    let remembered = preferences::storage::load();
    let backend = RwSignal::new(remembered.backend);
    let explicit = RwSignal::new(remembered.backend_explicit);
    let precision = RwSignal::new(remembered.precision.unwrap_or(Precision::Quantized));
    let preselected = move || {
        let gpu = state.gpu.with(WebGpuStatus::offer);
        if explicit.get() {
            (default_backend(backend.get(), gpu), None)
        } else {
            preselect(backend.get(), false, gpu, &remembered.speeds)
        }
    };
    let chosen_backend = move || preselected().0;

    let status_view = move || match state.engine.get() {
        EngineStatus::Starting => {
            view! { <span>"Starting the inference worker…"</span> }.into_any()
        }
        EngineStatus::Idle => {
            view! { <span>{format!("{} is not loaded yet.", state.model_name())}</span> }.into_any()
        }
        EngineStatus::Downloading { loaded, total } => {
            let text = match total {
                Some(t) if t > 0.0 => {
                    format!(
                        "Downloading the model: {:.1} / {:.1} MB ({:.0} %)",
                        loaded / 1e6,
                        t / 1e6,
                        100.0 * loaded / t
                    )
                }
                _ => format!("Downloading the model: {:.1} MB", loaded / 1e6),
            };
            let max = total.unwrap_or(0.0).max(loaded).max(1.0);
            view! {
                <span>{text}</span>
                <progress data-testid="download-progress" max=max value=loaded></progress>
            }
            .into_any()
        }
        EngineStatus::Preparing(step) => {
            view! { <span class="spinner" aria-hidden="true"></span><span>{step}"…"</span> }
                .into_any()
        }
        EngineStatus::Ready {
            backend,
            precision,
            device,
            resident_bytes,
            from_cache,
            webgpu_check,
        } => {
            let p = match precision {
                Precision::F32 => "f32 weights",
                Precision::Quantized => "quantized weights",
            };
            let _ = backend;
            let source = if from_cache {
                " (from this browser's cache)"
            } else {
                ""
            };
            // What the WebGPU check at load found, for a researcher who wonders whether the
            // GPU's numbers can be trusted (the browser test reads the attribute).
            let check = webgpu_check.map(|c| {
                let text = format!(
                    " Checked against a CPU copy: logits agree within {:.1e} over {} positions.",
                    c.max_abs_diff, c.positions
                );
                view! {
                    <span data-testid="webgpu-check" data-max-abs-diff=c.max_abs_diff.to_string()
                        data-positions=c.positions.to_string()
                        data-same-greedy=c.same_greedy_token.to_string()>{text}</span>
                }
            });
            view! { <span>{format!("{} loaded on {device}, {p}, {} resident{source}.", state.model_name(), format_bytes(resident_bytes))}</span>{check} }.into_any()
        }
        EngineStatus::Failed(message) => view! {
            <span class="error" role="alert" data-testid="engine-error">{message}</span>
        }
        .into_any(),
    };

    // `?autoload=1`: the visitor chose this model before the page reloaded to allow its origin.
    Effect::new(move |_| {
        if state.autoload.get()
            && state.engine.get() == EngineStatus::Idle
            && state.gpu.get() != WebGpuStatus::Checking
        {
            state.autoload.set(false);
            state.load_remembering(chosen_backend(), precision.get_untracked());
        }
    });
    let choice = Signal::derive(move || (chosen_backend(), precision.get()));

    view! {
        <section class="model-panel" data-testid="model-panel" data-state=move || state.engine.get().state_name()>
            <div class="model-status" data-testid="engine-status">{status_view}</div>
            <Show when=move || state.model_info.with(|i| i.is_some())>
                <div class="muted model-info" data-testid="model-info">
                    {move || state.model_info.get().map(|i| format!("{}: {}", i.name, i.summary())).unwrap_or_default()}
                </div>
            </Show>
            <div class="model-controls">
                <label>
                    "Run on "
                    <select
                        data-testid="backend-select"
                        on:change=move |ev| {
                            backend.set(Some(if event_target_value(&ev) == "cpu" { Backend::Cpu } else { Backend::WebGpu }));
                            explicit.set(true);
                            preferences::storage::update(|p| p.backend_explicit = true);
                        }
                        prop:value=move || if chosen_backend() == Backend::Cpu { "cpu" } else { "webgpu" }
                    >
                        <option value="webgpu">"WebGPU"</option>
                        <option value="cpu">"CPU (works everywhere)"</option>
                    </select>
                </label>
                <label>
                    "Weights "
                    <select
                        data-testid="precision-select"
                        on:change=move |ev| {
                            precision.set(if event_target_value(&ev) == "f32" { Precision::F32 } else { Precision::Quantized })
                        }
                        prop:value=move || if precision.get() == Precision::F32 { "f32" } else { "quantized" }
                    >
                        <option value="quantized">"quantized (small)"</option>
                        <option value="f32">"f32 (reference, 4× memory)"</option>
                    </select>
                </label>
                <button
                    class="button"
                    data-testid="load-model"
                    disabled=move || !state.engine.get().can_load() || state.busy()
                    on:click=move |_| state.load_remembering(chosen_backend(), precision.get_untracked())
                >
                    {move || match (state.engine.get().is_ready(), state.source.get()) {
                        (true, _) => "Reload model",
                        (false, ModelSource::Default) => "Load model (98 MB)",
                        (false, _) => "Load model",
                    }}
                </button>
                <Show when=move || matches!(state.engine.get(), EngineStatus::Downloading { .. } | EngineStatus::Preparing(_))>
                    <button
                        class="button ghost"
                        data-testid="cancel-load"
                        title="Stop loading: restarts the engine"
                        on:click=move |_| state.cancel_load()
                    >
                        "Cancel"
                    </button>
                </Show>
                <button
                    class="button ghost"
                    data-testid="clear-cache"
                    title="Delete the model and axis files this page keeps in your browser for offline use"
                    on:click=move |_| {
                        spawn_local(async move {
                            state.notice.set(Some(forget_cached_models().await));
                        });
                    }
                >
                    "Forget cached model"
                </button>
            </div>
            {move || preselected().1.map(|why| view! {
                <p class="muted backend-hint" data-testid="backend-measured">{why}</p>
            })}
            {move || state.backend_offer.get().map(|offer| {
                let to = offer.to;
                view! {
                    <p class="backend-offer" data-testid="backend-offer" role="status">
                        {offer.why}" "
                        <button class="button" data-testid="switch-backend"
                            disabled=move || state.busy()
                            on:click=move |_| {
                                state.backend_offer.set(None);
                                backend.set(Some(to));
                                state.load_remembering(to, precision.get_untracked());
                            }
                        >{format!("Switch to {}", backend_choice::name(to))}</button>
                    </p>
                }
            })}
            <Show when=move || state.gpu.with(WebGpuStatus::offer) == GpuOffer::Software>
                <p class="muted backend-hint" data-testid="backend-hint">
                    "This browser's WebGPU adapter is a software emulation of a GPU, which runs this model far slower than the CPU backend, so the CPU is preselected. Choose WebGPU to try it anyway."
                </p>
            </Show>
            <ByoPanel choice=choice />
        </section>
    }
}

/// Deletes the worker's model cache (`worker::model_cache`); the sentence says what happened.
async fn forget_cached_models() -> String {
    let Some(storage) = web_sys::window().and_then(|w| w.caches().ok()) else {
        return "This browser keeps no cached models here.".to_owned();
    };
    match JsFuture::from(storage.delete(crate::worker::model_cache::CACHE_NAME)).await {
        Ok(v) if v.as_bool() == Some(true) => {
            "The cached model files were deleted; the next load downloads them again.".to_owned()
        }
        Ok(_) => "There were no cached model files.".to_owned(),
        Err(e) => format!(
            "The cached model files could not be deleted: {}",
            crate::platform::webgpu::js_error_text(&e)
        ),
    }
}
