//! "Compute the axis in this browser": for a model without an axis file, a reduced axis-lab run
//! in the worker (`worker::quick_axis`) with a size choice, progress, cancel, and the result in
//! use at once and offered as a download.

use leptos::prelude::*;

use crate::session::AppState;
use crate::share;
use crate::state::AxisBuild;
use crate::worker::quick_axis::{ANSWER_TOKENS, QUESTIONS, QuickAxisSize, ROLES};

/// The sizes offered; the custom fields start from the first.
const SIZES: [(&str, QuickAxisSize); 3] = [
    (
        "Quick",
        QuickAxisSize {
            roles: 8,
            questions: 2,
            max_new_tokens: 32,
        },
    ),
    (
        "Standard",
        QuickAxisSize {
            roles: 16,
            questions: 3,
            max_new_tokens: 48,
        },
    ),
    (
        "Thorough",
        QuickAxisSize {
            roles: 32,
            questions: 4,
            max_new_tokens: 64,
        },
    ),
];

/// Answers a size asks for: every role and the five default prompts, per question.
fn answers_for(size: &QuickAxisSize) -> usize {
    size.questions * (size.roles + 5)
}

#[component]
pub fn AxisBuildPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let size = RwSignal::new(SIZES[0].1);
    let running = move || state.axis_build.with(AxisBuild::is_running);
    let start = move |_| {
        let seed = state.settings.with_untracked(|s| s.seed);
        state.start_axis_build(size.get_untracked(), seed);
    };
    let number = move |value: usize, set: fn(&mut QuickAxisSize, usize), test_id: &'static str| {
        let range = match test_id {
            "axis-build-roles" => ROLES,
            "axis-build-questions" => QUESTIONS,
            _ => ANSWER_TOKENS,
        };
        view! {
            <input type="number" data-testid=test_id
                min=*range.start() max=*range.end()
                prop:value=value
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() {
                        size.update(|s| set(s, v.clamp(*range.start(), *range.end())));
                    }
                }
            />
        }
    };
    let custom = move || {
        let s = size.get();
        view! {
            <label>"roles " {number(s.roles, |s, v| s.roles = v, "axis-build-roles")}</label>
            <label>" questions " {number(s.questions, |s, v| s.questions = v, "axis-build-questions")}</label>
            <label>" tokens per answer " {number(s.max_new_tokens, |s, v| s.max_new_tokens = v, "axis-build-tokens")}</label>
        }
    };
    let status = move || {
        match state.axis_build.get() {
        AxisBuild::Idle => ().into_any(),
        AxisBuild::Running {
            answers_done,
            answers_total,
            tokens,
            seconds,
        } => view! {
            <div class="axis-build-progress" data-testid="axis-build-running">
                <progress data-testid="axis-build-progress"
                    max=answers_total.max(1) value=answers_done></progress>
                <span>{if answers_total == 0 {
                    "Starting…".to_owned()
                } else {
                    format!("{answers_done} of {answers_total} answers · {tokens} tokens · {seconds:.0} s")
                }}</span>
                <button type="button" data-testid="axis-build-cancel"
                    on:click=move |_| state.cancel_axis_build()>"Cancel"</button>
            </div>
        }
        .into_any(),
        AxisBuild::Built {
            file_name,
            bytes,
            answers,
            tokens,
            seconds,
        } => {
            let error = RwSignal::new(None::<String>);
            let name = file_name.clone();
            let download = move |_| {
                error.set(share::browser::download_bytes(&name, &bytes).err());
            };
            view! {
                <div class="axis-build-done" data-testid="axis-build-done">
                    <p>{format!(
                        "Computed from {answers} answers ({tokens} tokens) in {seconds:.0} s and in use now: answers are scored and the capped twin works. It lasts until the page is reloaded; keep it with the button, then load it with the model next time (“Use another model”, axis file) or serve it beside the page as axes/{file_name}."
                    )}</p>
                    <button type="button" data-testid="axis-build-download" on:click=download>
                        "Download the axis file"
                    </button>
                    {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
                </div>
            }
            .into_any()
        }
        AxisBuild::Failed(message) => view! {
            <p class="error" data-testid="axis-build-error">
                {format!("The axis could not be computed: {message}")}
            </p>
        }
        .into_any(),
        AxisBuild::Cancelled => view! {
            <p class="muted" data-testid="axis-build-cancelled">
                "Cancelled; nothing changed."
            </p>
        }
        .into_any(),
    }
    };
    view! {
        <section class="axis-build" data-testid="axis-build">
            <h3>"Compute the axis in this browser"</h3>
            <p class="muted">
                "A reduced axis-lab run: some roles (a pirate, a therapist, a ghost…) and the default Assistant answer the same questions; the axis is the difference of their mean activations at every layer. It has no judge and no held-out check, and uses the paper's monitor layer and capping recipe instead of the lab's sweep — a first look, not the lab's full build."
            </p>
            <div class="axis-build-size">
                <label>
                    "Size "
                    <select data-testid="axis-build-size" prop:disabled=running
                        on:change=move |ev| {
                            let chosen = event_target_value(&ev);
                            if let Some((_, s)) = SIZES.iter().find(|(n, _)| *n == chosen) {
                                size.set(*s);
                            }
                        }>
                        {SIZES
                            .iter()
                            .map(|(name, s)| {
                                let label = format!(
                                    "{name}: {} roles × {} questions, {} tokens ({} answers)",
                                    s.roles,
                                    s.questions,
                                    s.max_new_tokens,
                                    answers_for(s)
                                );
                                view! { <option value=*name>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <details>
                    <summary>"Custom size"</summary>
                    {custom}
                </details>
                <span class="muted" data-testid="axis-build-answers">
                    {move || format!("{} answers", answers_for(&size.get()))}
                </span>
                <button type="button" data-testid="axis-build-start"
                    disabled=move || !state.engine.with(|e| e.is_ready()) || state.busy()
                    on:click=start>
                    "Compute axis"
                </button>
            </div>
            {status}
        </section>
    }
}
