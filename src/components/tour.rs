//! The guided tour: five steps, each highlighting one region of the page with a short text,
//! with Back / Next / Close (Esc closes too). Reachable from the header and with `t`.

use leptos::prelude::*;

use crate::extras::{Extras, find};

/// (region, title, text) for each step.
pub const STEPS: [(&str, &str, &str); 5] = [
    (
        "[data-testid=model-panel]",
        "1 · Load the model",
        "SmolLM2 (135 million parameters, 98 MB) downloads once and runs in this tab: on WebGPU \
         when your browser has it, else on the CPU. Nothing you type leaves your computer.",
    ),
    (
        ".chat-columns",
        "2 · Two answers to one message",
        "Default is the model as it is. Capped is the same model with its activations held above \
         a floor on the Assistant Axis. Every answer shows its axis score.",
    ),
    (
        "[data-testid=drift-chart]",
        "3 · The drift chart",
        "One dot per answer and turn: up is Assistant-like, down is role-play. Watch whether a \
         conversation pulls the dots down, turn by turn.",
    ),
    (
        "[data-testid=capping-panel]",
        "4 · Capping",
        "Turn the capped twin on or off, and choose which layers are capped and how high the \
         floor τ sits. The next message uses these settings.",
    ),
    (
        "[data-testid=presets-panel]",
        "5 · Presets",
        "Pick a scripted conversation, read what to watch for, then Play it, or Step through it \
         one turn at a time.",
    ),
];

const HIGHLIGHT: &str = "tour-target";

fn clear_highlight() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(list) = doc.query_selector_all(&format!(".{HIGHLIGHT}")) {
        for i in 0..list.length() {
            if let Some(el) = list
                .item(i)
                .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
            {
                let _ = el.class_list().remove_1(HIGHLIGHT);
            }
        }
    }
}

#[component]
pub fn Tour() -> impl IntoView {
    let extras = expect_context::<Extras>();
    let tour = extras.tour;
    // Where the card sits: away from the highlighted region.
    let at_top = RwSignal::new(false);
    Effect::new(move |_| {
        clear_highlight();
        let Some(step) = tour.get() else {
            return;
        };
        let Some((css, ..)) = STEPS.get(step) else {
            return;
        };
        if let Some(el) = find(css) {
            let _ = el.class_list().add_1(HIGHLIGHT);
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            el.scroll_into_view_with_scroll_into_view_options(&options);
            let rect = el.get_bounding_client_rect();
            let height = web_sys::window()
                .and_then(|w| w.inner_height().ok())
                .and_then(|h| h.as_f64())
                .unwrap_or(800.0);
            // The card is about 200 px tall at the bottom: move it up when the region reaches
            // into that band and leaves room above.
            at_top.set(rect.bottom() > height - 230.0 && rect.top() > 230.0);
        }
        request_animation_frame(|| {
            if let Some(next) = find("[data-testid=tour-next]") {
                let _ = next.focus();
            }
        });
    });
    on_cleanup(clear_highlight);

    move || {
        tour.get().and_then(|step| {
            let (_, title, text) = *STEPS.get(step)?;
            let last = step + 1 == STEPS.len();
            Some(view! {
                <div class="tour-backdrop" aria-hidden="true"></div>
                <section class="tour-card" class:tour-top=move || at_top.get()
                    role="dialog" aria-modal="false" aria-labelledby="tour-title" aria-describedby="tour-text"
                    data-testid="tour" data-step=(step + 1).to_string()
                >
                    <p class="tour-count muted">{format!("Step {} of {}", step + 1, STEPS.len())}</p>
                    <h2 id="tour-title">{title}</h2>
                    <p id="tour-text">{text}</p>
                    <div class="tour-actions">
                        <button type="button" class="button ghost" data-testid="tour-back"
                            disabled=step == 0
                            on:click=move |_| tour.set(Some(step.saturating_sub(1)))
                        >"Back"</button>
                        <button type="button" class="button" data-testid="tour-next"
                            on:click=move |_| tour.set(if last { None } else { Some(step + 1) })
                        >{if last { "Finish" } else { "Next" }}</button>
                        <button type="button" class="button ghost" data-testid="tour-close"
                            on:click=move |_| tour.set(None)
                        >"Close"</button>
                    </div>
                </section>
            })
        })
    }
}
