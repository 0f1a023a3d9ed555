//! The chat columns and the shared input. Model output is always inserted as text, never HTML.

use leptos::prelude::*;

use crate::app::AppState;
use crate::components::settings::SettingsPanel;
use crate::state::{ChatEntry, Role};
use crate::worker::protocol::ToWorker;

#[component]
pub fn ChatLayout() -> impl IntoView {
    let state = expect_context::<AppState>();
    let draft = RwSignal::new(String::new());
    let can_send = move || state.engine.get().is_ready() && state.generating.get().is_none();
    let submit = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || !can_send() {
            return;
        }
        draft.set(String::new());
        state.submit(text);
    };

    view! {
        <div class="chat-columns">
            <section class="chat-column" data-testid="column-default">
                <header class="chat-column-header">
                    <h2>"Default"</h2>
                    <span class="muted">"the model as it is"</span>
                </header>
                <div class="chat-messages">
                    <Show
                        when=move || !state.messages.with(|m| m.is_empty())
                        fallback=|| view! { <div class="chat-empty muted">"No messages yet."</div> }
                    >
                        <For each=move || state.messages.get() key=|e| (e.id, e.content.len(), e.streaming) let:entry>
                            <Message entry=entry />
                        </For>
                    </Show>
                </div>
            </section>
            <section class="chat-column" data-testid="column-capped">
                <header class="chat-column-header">
                    <h2>"Capped"</h2>
                    <span class="muted">"activation capping on the Assistant Axis"</span>
                </header>
                <div class="chat-empty muted">
                    "The capped twin needs the axis file for this model, which has not been computed yet."
                </div>
            </section>
        </div>
        <SettingsPanel />
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea
                class="composer-input"
                data-testid="composer-input"
                rows="2"
                placeholder=move || if state.engine.get().is_ready() { "Write a message (Enter sends, Shift+Enter for a new line)" } else { "Load the model to start chatting." }
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <Show
                when=move || state.generating.get().is_some()
                fallback=move || view! { <button class="button" type="submit" data-testid="send" disabled=move || !can_send()>"Send"</button> }
            >
                <button class="button danger" type="button" data-testid="stop" on:click=move |_| state.send(&ToWorker::Stop)>"Stop"</button>
            </Show>
        </form>
    }
}

#[component]
fn Message(entry: ChatEntry) -> impl IntoView {
    let class = match entry.role {
        Role::User => "message user",
        Role::Assistant => "message assistant",
    };
    let testid = match entry.role {
        Role::User => "message-user",
        Role::Assistant => "message-assistant",
    };
    view! {
        <article class=class data-testid=testid data-streaming=entry.streaming.to_string()>
            <div class="message-text">{entry.content}</div>
            {entry.error.map(|e| view! { <div class="error" role="alert">{e}</div> })}
            {entry.meta.map(|m| view! { <div class="message-meta muted" data-testid="message-meta">{m}</div> })}
        </article>
    }
}
