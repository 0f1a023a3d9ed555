//! The chat columns ("Default", and "Capped" when capping is on), the drift chart beside them,
//! and the shared input with Stop, Undo and Clear.

use leptos::prelude::*;

use crate::components::capping_panel::CappingPanel;
use crate::components::drift_chart::DriftChart;
use crate::components::message::{AssistantMessage, UserMessage};
use crate::components::persona_map::PersonaMap;
use crate::components::settings::SettingsPanel;
use crate::conversation::{Column, Turn};
use crate::session::AppState;

#[component]
pub fn ChatLayout() -> impl IntoView {
    let state = expect_context::<AppState>();
    let draft = RwSignal::new(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || !state.can_send() {
            return;
        }
        draft.set(String::new());
        state.submit(text);
    };
    let idle = move || !state.busy();
    let has_turns = move || state.conversation.with(|c| !c.turns.is_empty());

    view! {
        <CappingPanel />
        <div class="workspace">
            <div class="chat-columns" data-columns=move || if state.shows_capped() { "2" } else { "1" }>
                <ChatColumn column=Column::Default />
                <Show when=move || state.shows_capped()>
                    <ChatColumn column=Column::Capped />
                </Show>
            </div>
            <DriftChart />
        </div>
        <PersonaMap />
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
            <div class="composer-actions">
                // Stop is for an answer being written; an axis build has its own Cancel, and
                // meanwhile Send stays in place, disabled.
                <Show
                    when=move || state.generating.with(|g| g.is_some())
                    fallback=move || view! { <button class="button" type="submit" data-testid="send" disabled=move || !state.can_send()>"Send"</button> }
                >
                    <button class="button danger" type="button" data-testid="stop" on:click=move |_| state.stop()>"Stop"</button>
                </Show>
                <button class="button ghost" type="button" data-testid="undo"
                    disabled=move || !idle() || !has_turns()
                    on:click=move |_| state.undo()
                >"Undo last turn"</button>
                <button class="button ghost" type="button" data-testid="clear"
                    disabled=move || !idle() || !has_turns()
                    on:click=move |_| state.clear()
                >"Clear"</button>
            </div>
        </form>
    }
}

#[component]
fn ChatColumn(column: Column) -> impl IntoView {
    let state = expect_context::<AppState>();
    let (subtitle, testid) = match column {
        Column::Default => ("the model as it is", "column-default"),
        Column::Capped => (
            "the same model, activations capped on the Assistant Axis",
            "column-capped",
        ),
    };
    // Re-render a turn when what this column shows of it changes.
    let key = move |(_, t): &(usize, Turn)| {
        let r = t.reply(column);
        (
            t.id,
            r.map(|r| {
                (
                    r.id,
                    r.content.len(),
                    r.streaming,
                    r.score.is_some(),
                    r.error.is_some(),
                )
            }),
        )
    };
    let each = move || {
        state
            .conversation
            .get()
            .turns
            .into_iter()
            .enumerate()
            .collect::<Vec<_>>()
    };
    view! {
        <section class="chat-column" data-testid=testid>
            <header class="chat-column-header">
                <h2>{column.label()}</h2>
                <span class="muted">{subtitle}</span>
            </header>
            <div class="chat-messages">
                <Show
                    when=move || state.conversation.with(|c| !c.turns.is_empty())
                    fallback=|| view! { <div class="chat-empty muted">"No messages yet."</div> }
                >
                    <For
                        each=each
                        key=key
                        let:item
                    >
                        <TurnView turn=item.1 index=item.0 column=column />
                    </For>
                </Show>
            </div>
        </section>
    }
}

#[component]
fn TurnView(turn: Turn, index: usize, column: Column) -> impl IntoView {
    let reply = turn.reply(column).cloned();
    // The turn records α only when steering was on (`AppState::submit`), as the answer's details do.
    let steered = turn.steering.is_some();
    // The persona the conversation set up so far (system prompt, user messages up to here).
    let state = expect_context::<AppState>();
    let system = state.system_prompt.get_untracked();
    let persona = state.conversation.with_untracked(|c| {
        let users: Vec<&str> = c
            .turns
            .iter()
            .take(index + 1)
            .map(|t| t.user.as_str())
            .collect();
        crate::speaker_tag::persona_words(&system, &users)
    });
    let placeholder = match (&reply, turn.capping) {
        (Some(_), _) => None,
        (None, None) => Some("Capping was off for this turn."),
        (None, Some(_)) => Some("Answers after the default column…"),
    };
    view! {
        <UserMessage text=turn.user />
        {reply.map(|r| view! { <AssistantMessage reply=r column=column turn=index + 1 steered=steered persona=persona /> })}
        {placeholder.map(|p| view! { <div class="message-placeholder muted">{p}</div> })}
    }
}
