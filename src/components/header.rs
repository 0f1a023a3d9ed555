//! The top bar: the product's name and the way back to the explainer.

use leptos::prelude::*;

#[component]
pub fn Header(on_help: impl Fn() + 'static) -> impl IntoView {
    view! {
        <header class="header">
            <div class="brand">
                <span class="brand-mark" aria-hidden="true">"⟂"</span>
                <h1>"Assistant Axis"</h1>
                <span class="brand-sub">"a language model's persona, measured live in your browser"</span>
            </div>
            <nav class="header-actions">
                <button class="button ghost" data-testid="open-explainer" on:click=move |_| on_help()>
                    "How it works"
                </button>
                <crate::components::classroom::HeaderExtras />
            </nav>
        </header>
    }
}
