//! Capping controls: on/off, the layer band and the percentile that sets τ, with the axis
//! file's calibration as defaults. The next generation uses them.

use engine::axis::CapSetting;
use leptos::prelude::*;

use crate::components::axis_build_panel::AxisBuildPanel;
use crate::persist::{MAX_STEERING, sanitize_steering};
use crate::session::AppState;
use crate::state::AxisBuild;
use crate::worker::protocol::WireAxisInfo;
use engine::axis::ThresholdBasis;

#[component]
pub fn CappingPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let controls = move || match state.axis.get() {
        Some(axis) => band_controls(state, axis).into_any(),
        None => {
            let why = state.axis_error.get().unwrap_or_else(|| {
                "The Assistant Axis file loads with the model; until then answers are not scored."
                    .to_owned()
            });
            let help = state
                .axis_error
                .with(|e| e.is_some())
                .then(|| axis_help(state));
            view! { <span class="muted" data-testid="axis-status">{why}</span>{help} }.into_any()
        }
    };
    view! {
        <section class="capping-panel" data-testid="capping-panel">
            <label class="toggle">
                <input type="checkbox" data-testid="capping-toggle"
                    prop:checked=move || state.capping.get().enabled
                    on:change=move |ev| state.capping.update(|c| c.enabled = event_target_checked(&ev))
                />
                " Capped twin"
            </label>
            {controls}
            <Show when=move || state.axis.with(|a| a.is_some())>
                <SteeringControl />
            </Show>
            <Show when=move || {
                state.engine.with(|e| e.is_ready())
                    && (state.axis.with(|a| a.is_none())
                        || state.axis_build.with(|b| *b != AxisBuild::Idle))
            }>
                <AxisBuildPanel />
            </Show>
        </section>
    }
}

/// What the visitor can do about a missing or unfitting axis file.
fn axis_help(state: AppState) -> impl IntoView {
    let source = state.source.get();
    let stem = source.stem();
    let place = match source {
        crate::byo::ModelSource::Local { .. } => {
            "then choose it as the axis file under “Use another model”, with the model file"
                .to_owned()
        }
        _ => format!("then serve it beside the page as axes/{stem}.axis.safetensors"),
    };
    let command =
        format!("cargo run -p axis-lab -- build --model {stem}.gguf --out {stem}.axis.safetensors");
    view! {
        <p class="muted axis-help" data-testid="axis-help">
            "To score and cap this model, compute its Assistant Axis with the project's axis lab (see README): "
            <code>{command}</code>
            {format!(", {place}. Or compute a first one right here, below.")}
        </p>
    }
}

fn band_controls(state: AppState, axis: WireAxisInfo) -> impl IntoView {
    let offer = &axis.capping;
    let top = offer.n_layers.saturating_sub(1);
    let band = move || state.capping.get().band;
    // Keeps first ≤ last by moving the other end when one crosses it.
    let set_layer = move |first: bool, text: String| {
        let Ok(v) = text.trim().parse::<usize>() else {
            return;
        };
        let v = v.min(top);
        state.capping.update(|c| {
            if let Some(b) = c.band.as_mut() {
                if first {
                    b.first_layer = v;
                    b.last_layer = b.last_layer.max(v);
                } else {
                    b.last_layer = v;
                    b.first_layer = b.first_layer.min(v);
                }
            }
        });
    };
    // The default floor is offered even where it is not on the grid (a hand-made file).
    let mut levels = offer.offered_levels();
    if !levels.contains(&offer.default.percentile) {
        levels.push(offer.default.percentile);
    }
    let levels_for_change = levels.clone();
    let options: Vec<(usize, String)> = levels
        .iter()
        .enumerate()
        .map(|(i, &level)| {
            let mark = if level == offer.default.percentile {
                " (axis file's default)"
            } else {
                ""
            };
            (i, format!("{}{mark}", offer.describe(level)))
        })
        .collect();
    let monitor = axis.monitor_layer;
    let note = move || {
        band().map(|b: CapSetting| {
            if b.contains(monitor) {
                format!("Monitor layer {monitor} is capped: its score cannot fall below the threshold while generating.")
            } else {
                format!("Monitor layer {monitor} is outside the band: the chart's threshold line is a reference there, not a floor.")
            }
        })
    };
    let other_model = axis.other_model.clone().map(|warning| {
        view! { <p class="notice" data-testid="axis-other-model">{warning}</p> }
    });
    let older_file = (offer.basis == ThresholdBasis::RoleAnswers).then(|| {
        view! {
            <p class="notice" data-testid="axis-older-thresholds">
                "This axis file is in the older format: its floors are percentiles of role answers only, lower than the paper's (which takes percentiles over all answers, default 75th). Capping works, but it lifts less than the paper's cap would. Rebuild the file with the project's axis lab (see the README) for the paper's floors."
            </p>
        }
    });
    view! {
        {other_model}
        {older_file}
        <label>
            "Layers "
            <input type="number" min="0" max=top step="1" data-testid="cap-first-layer"
                prop:value=move || band().map(|b| b.first_layer.to_string()).unwrap_or_default()
                on:change=move |ev| set_layer(true, event_target_value(&ev))
            />
            " to "
            <input type="number" min="0" max=top step="1" data-testid="cap-last-layer"
                prop:value=move || band().map(|b| b.last_layer.to_string()).unwrap_or_default()
                on:change=move |ev| set_layer(false, event_target_value(&ev))
            />
            {format!(" of 0–{top}")}
        </label>
        <label title="Each capped layer's projection on the axis is floored at τ, a percentile of the per-answer projections the axis was built from. The paper's default is its p25 on the role direction: the 75th percentile of all answers here.">
            "Floor τ at the "
            <select data-testid="cap-percentile"
                prop:value=move || {
                    band()
                        .and_then(|b| levels.iter().position(|&l| l == b.percentile))
                        .map(|i| i.to_string())
                        .unwrap_or_default()
                }
                on:change=move |ev| {
                    let picked = event_target_value(&ev)
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| levels_for_change.get(i).copied());
                    if let Some(level) = picked {
                        state.capping.update(|c| {
                            if let Some(b) = c.band.as_mut() {
                                b.percentile = level;
                            }
                        });
                    }
                }
            >
                {options.into_iter().map(|(i, name)| {
                    view! { <option value=i.to_string()>{name}</option> }
                }).collect_view()}
            </select>
        </label>
        <span class="muted capping-note" data-testid="capping-note">{note}</span>
    }
}

/// Steering (docs/design.md §1): α·axis added at the monitor layer for the next answers of both
/// columns. α = 1 moves the stream by the whole gap between the average role and the Assistant.
#[component]
fn SteeringControl() -> impl IntoView {
    let state = expect_context::<AppState>();
    let describe = move || {
        let a = state.steering.get();
        if a == 0.0 {
            "off".to_owned()
        } else if a > 0.0 {
            format!("α = {a:+.2}, toward the Assistant")
        } else {
            format!("α = {a:+.2}, away from the Assistant")
        }
    };
    view! {
        <label class="steering" title="Adds α × the Assistant Axis to the residual stream at the monitor layer, at every position, for the next answers (both columns). The answer's details say which α it had.">
            "Steering "
            <input type="range" min=(-MAX_STEERING).to_string() max=MAX_STEERING.to_string() step="0.25"
                data-testid="steering-slider"
                aria-label="Steering strength α"
                prop:value=move || state.steering.get().to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                        state.steering.set(sanitize_steering(v));
                    }
                }
            />
            <span class="muted" data-testid="steering-value">{describe}</span>
            <button type="button" class="link-button" data-testid="steering-reset"
                disabled=move || state.steering.get() == 0.0
                on:click=move |_| state.steering.set(0.0)
            >"reset"</button>
        </label>
    }
}
