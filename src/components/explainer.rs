//! A short, plain-language explanation of what the page shows (reachable from the header).

use leptos::prelude::*;

#[component]
pub fn Explainer(on_close: impl Fn() + 'static) -> impl IntoView {
    view! {
        <section class="explainer" role="dialog" aria-label="How it works" data-testid="explainer">
            <div class="explainer-grid">
                <article>
                    <h2>"1 · The Assistant Axis"</h2>
                    <p>
                        "Chat models play a character: the helpful assistant. Inside the model that character is "
                        "roughly one direction in its activations. We find it by making the model role-play many "
                        "characters (a pirate, a ghost, a therapist…) and answer as itself, then taking the "
                        "difference of the average activations."
                    </p>
                </article>
                <article>
                    <h2>"2 · Persona drift"</h2>
                    <p>
                        "Every reply gets a score: how far along that direction its activations sit. Some "
                        "conversations pull the model away from its assistant persona turn by turn — you can "
                        "watch the score fall. On the drift chart each dot is one reply: up is Assistant-like, "
                        "down is role-play, 0 is an average character. “Text” plots how the plain model reads "
                        "each reply; “Activations” plots what the answering (possibly capped) model had inside."
                    </p>
                </article>
                <article>
                    <h2>"3 · Activation capping"</h2>
                    <p>
                        "Capping puts a floor under that score inside the model, on a band of layers, for "
                        "every token. Above the floor nothing changes; below it, the activation is lifted back. "
                        "The capped twin answers the same messages so you can compare."
                    </p>
                </article>
                <article>
                    <h2>"4 · Everything stays here"</h2>
                    <p>
                        "The model (SmolLM2, 135 million parameters) runs in this tab with WebGPU, or on the "
                        "CPU when WebGPU is missing. Nothing you type leaves your computer."
                    </p>
                </article>
            </div>
            <p class="explainer-source">
                "Method: Lu et al., “The Assistant Axis: Situating and Stabilizing the Default Persona of "
                "Language Models” (arXiv 2601.10387, 2026)."
            </p>
            <button class="button" data-testid="close-explainer" on:click=move |_| on_close()>"Got it"</button>
        </section>
    }
}
