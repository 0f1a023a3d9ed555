//! The two chat columns (default and capped) and the shared input.
//!
//! The engine is not wired in yet, so the input stays disabled and the columns say so rather
//! than showing invented messages.

use leptos::prelude::*;

#[component]
pub fn ChatLayout() -> impl IntoView {
    view! {
        <div class="chat-columns">
            <ChatColumn title="Default" subtitle="the model as it is" testid="column-default" />
            <ChatColumn title="Capped" subtitle="activation capping on the Assistant Axis" testid="column-capped" />
        </div>
        <form class="composer" on:submit=|ev| ev.prevent_default()>
            <textarea
                class="composer-input"
                data-testid="composer-input"
                rows="2"
                placeholder="Chat opens once the model has loaded in this tab."
                disabled=true
            ></textarea>
            <button class="button" type="submit" disabled=true>"Send"</button>
        </form>
    }
}

#[component]
fn ChatColumn(title: &'static str, subtitle: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <section class="chat-column" data-testid=testid>
            <header class="chat-column-header">
                <h2>{title}</h2>
                <span class="muted">{subtitle}</span>
            </header>
            <div class="chat-empty muted">"No messages yet."</div>
        </section>
    }
}
