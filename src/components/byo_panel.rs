//! "Use another model": a model from a URL (e.g. a Hugging Face `resolve` link) or from a file
//! on the visitor's computer (chosen or dropped, with an optional axis file), and the way back
//! to the shipped model. The worker checks every file before loading it (`worker::compat`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{File, FileList, HtmlInputElement};

use crate::byo::{self, ModelSource, browser};
use crate::session::AppState;
use crate::worker::compat::{MAX_MODEL_BYTES, too_large};
use crate::worker::protocol::{Backend, Precision};

#[component]
pub fn ByoPanel(choice: Signal<(Backend, Precision)>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let url_text = RwSignal::new(match state.source.get_untracked() {
        ModelSource::Url(u) if byo::check_model_url(&u).is_ok() => u,
        _ => String::new(),
    });
    let error = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(false);
    let axis_input = NodeRef::<leptos::html::Input>::new();
    let busy = move || !state.engine.get().can_load() || state.busy();
    let load = move || {
        let (b, p) = choice.get_untracked();
        state.load_remembering(b, p);
    };

    let load_url = move || match byo::check_model_url(&url_text.get_untracked()) {
        Err(e) => error.set(Some(e)),
        Ok(url) => {
            error.set(None);
            url_text.set(url.clone());
            if browser::allowed_now(&url) {
                browser::set_params(|p| p.set("model", &url));
                state.source.set(ModelSource::Url(url));
                load();
            } else {
                // The page's policy allows a new origin only from a fresh page (`csp.js`).
                let (b, p) = choice.get_untracked();
                crate::preferences::storage::update(|prefs| {
                    prefs.backend = Some(b);
                    prefs.precision = Some(p);
                });
                browser::navigate_to_model(&url);
            }
        }
    };

    // A model file (and maybe its axis file) from the computer.
    let use_files = move |files: Vec<File>| {
        let (axes, models): (Vec<File>, Vec<File>) = files
            .into_iter()
            .partition(|f| f.name().to_ascii_lowercase().ends_with(".safetensors"));
        let chosen_axis = axes.into_iter().next().or_else(|| {
            axis_input
                .get_untracked()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
        });
        let Some(model) = models.into_iter().next() else {
            // Only an axis file: it goes with the local model already chosen, if any.
            match (browser::local_model(), chosen_axis) {
                (Some(model), Some(axis)) => {
                    let name = model.name();
                    state.source.set(ModelSource::Local {
                        name,
                        bytes: model.size(),
                        axis_name: Some(axis.name()),
                    });
                    browser::set_local(model, Some(axis));
                    error.set(None);
                    load();
                }
                _ => error.set(Some(
                    "Choose or drop the model's .gguf file (the axis file is optional and goes with it).".to_owned(),
                )),
            }
            return;
        };
        if model.size() > MAX_MODEL_BYTES {
            error.set(Some(too_large(&model.name(), model.size())));
            return;
        }
        error.set(None);
        state.source.set(ModelSource::Local {
            name: model.name(),
            bytes: model.size(),
            axis_name: chosen_axis.as_ref().map(File::name),
        });
        browser::set_local(model, chosen_axis);
        load();
    };

    let on_model_input = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        let files = input.files().map(list).unwrap_or_default();
        if !files.is_empty() {
            use_files(files);
        }
        // Choosing the same file again must fire `change` again.
        input.set_value("");
    };
    let on_axis_input = move |_| {
        if matches!(state.source.get_untracked(), ModelSource::Local { .. }) && !busy() {
            use_files(Vec::new());
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if busy() {
            return;
        }
        let files = js_sys::Reflect::get(&ev, &"dataTransfer".into())
            .ok()
            .and_then(|dt| js_sys::Reflect::get(&dt, &"files".into()).ok())
            .and_then(|f| f.dyn_into::<FileList>().ok())
            .map(list)
            .unwrap_or_default();
        if files.is_empty() {
            error.set(Some(
                "Nothing was dropped that the page can read; drop a .gguf file.".to_owned(),
            ));
        } else {
            use_files(files);
        }
    };

    let back_to_default = move |_| {
        browser::set_params(|p| p.delete("model"));
        url_text.set(String::new());
        error.set(None);
        state.source.set(ModelSource::Default);
        load();
    };

    view! {
        <details class="byo" data-testid="byo" open=!matches!(state.source.get_untracked(), ModelSource::Default)>
            <summary>"Use another model"</summary>
            <p class="muted">
                "Any Llama-family GGUF chat model (llama, e.g. SmolLM2, TinyLlama, Llama 3.2; or qwen2) up to 2 GB. "
                "The file is checked before it is loaded; it stays in your browser."
            </p>
            <form class="byo-row" on:submit=move |ev| { ev.prevent_default(); load_url(); }>
                <label class="byo-url">
                    "Model URL "
                    <input type="url" data-testid="model-url-input" placeholder="https://huggingface.co/<user>/<repo>/resolve/main/<file>.gguf"
                        prop:value=move || url_text.get()
                        on:input=move |ev| url_text.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="button" data-testid="load-url" disabled=busy>"Load from URL"</button>
            </form>
            <div
                class="drop-zone"
                class:dragging=move || dragging.get()
                data-testid="drop-zone"
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <span>"Drop a .gguf file here, or "</span>
                <label class="button ghost">
                    "choose a model file…"
                    <input type="file" accept=".gguf" class="visually-hidden" data-testid="model-file-input"
                        disabled=busy on:change=on_model_input />
                </label>
                <label class="byo-axis">
                    "Axis file (optional, "<code>".axis.safetensors"</code>"): "
                    <input type="file" accept=".safetensors" data-testid="axis-file-input"
                        node_ref=axis_input on:change=on_axis_input />
                </label>
            </div>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert" data-testid="byo-error">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || !matches!(state.source.get(), ModelSource::Default)>
                <button class="button ghost" data-testid="back-to-default" disabled=busy on:click=back_to_default>
                    "Back to the default model"
                </button>
            </Show>
        </details>
    }
}

fn list(files: FileList) -> Vec<File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}
