//! Generation settings and the system prompt; the next answer uses them.

use leptos::prelude::*;

use crate::persist::MAX_ECHO_PENALTY;
use crate::session::AppState;

#[component]
pub fn SettingsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let settings = state.settings;
    view! {
        <details class="settings" data-testid="settings">
            <summary>"Generation settings and system prompt"</summary>
            <div class="settings-grid">
                <label>
                    "Temperature (0 = greedy)"
                    <input type="number" min="0" max="2" step="0.05" data-testid="setting-temperature"
                        prop:value=move || settings.get().temperature.to_string()
                        on:change=move |ev| { if let Some(v) = finite(&event_target_value(&ev)) {
                            settings.update(|s| s.temperature = v.clamp(0.0, 2.0));
                        } }
                    />
                </label>
                <label>
                    "Top-p"
                    <input type="number" min="0.05" max="1" step="0.05" data-testid="setting-top-p"
                        prop:value=move || settings.get().top_p.to_string()
                        on:change=move |ev| { if let Some(v) = finite(&event_target_value(&ev)) {
                            settings.update(|s| s.top_p = v.clamp(0.05, 1.0));
                        } }
                    />
                </label>
                <label>
                    "Frequency penalty"
                    <input type="number" min="0" max="2" step="0.1" data-testid="setting-frequency-penalty"
                        prop:value=move || settings.get().frequency_penalty.to_string()
                        on:change=move |ev| { if let Some(v) = finite(&event_target_value(&ev)) {
                            settings.update(|s| s.frequency_penalty = v.clamp(0.0, 2.0));
                        } }
                    />
                </label>
                <label title="Lowers the chance of repeating a run of four tokens from one of this conversation's earlier answers, so that long conversations do not copy themselves (0 = off).">
                    "Echo penalty"
                    <input type="number" min="0" max=MAX_ECHO_PENALTY step="0.5" data-testid="setting-echo-penalty"
                        prop:value=move || settings.get().echo_penalty.to_string()
                        on:change=move |ev| { if let Some(v) = finite(&event_target_value(&ev)) {
                            settings.update(|s| s.echo_penalty = v.clamp(0.0, MAX_ECHO_PENALTY));
                        } }
                    />
                </label>
                <label>
                    "Max new tokens"
                    <input type="number" min="1" max="1024" step="1" data-testid="setting-max-tokens"
                        prop:value=move || settings.get().max_new_tokens.to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                            settings.update(|s| s.max_new_tokens = v.clamp(1, 1024));
                        } }
                    />
                </label>
                <label>
                    "Seed"
                    <input type="number" min="0" step="1" data-testid="setting-seed"
                        prop:value=move || settings.get().seed.to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                            settings.update(|s| s.seed = v);
                        } }
                    />
                </label>
            </div>
            <label class="system-prompt">
                "System prompt (empty = the model's default)"
                <textarea rows="2" data-testid="system-prompt"
                    prop:value=move || state.system_prompt.get()
                    on:input=move |ev| state.system_prompt.set(event_target_value(&ev))
                ></textarea>
            </label>
        </details>
    }
}

/// A number typed into a field, if it is one ("NaN" and "inf" parse as f32 but are not settings).
fn finite(text: &str) -> Option<f32> {
    text.trim().parse::<f32>().ok().filter(|v| v.is_finite())
}
