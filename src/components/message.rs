//! One chat message. Model output and user text are inserted as text nodes, never as HTML.

use leptos::prelude::*;

use crate::conversation::{Column, Reply};

#[component]
pub fn UserMessage(text: String) -> impl IntoView {
    view! {
        <article class="message user" data-testid="message-user">
            <div class="message-text">{text}</div>
        </article>
    }
}

/// An answer with its axis score; `id="msg-<reply id>"` is where the drift chart scrolls to.
#[component]
pub fn AssistantMessage(reply: Reply, column: Column, turn: usize) -> impl IntoView {
    let score = reply.score.map(|s| {
        // The capped twin's two readings differ; the default answer's agree, so one number.
        let label = match column {
            Column::Default => format!("Axis score {:+.2}", s.activations),
            Column::Capped => format!(
                "Axis score {:+.2} (activations, capped) · {:+.2} (text, re-read uncapped)",
                s.activations, s.text
            ),
        };
        let title = "Mean position of this answer's tokens on the Assistant Axis at the monitor \
                     layer, centred on the average role: positive = Assistant-like";
        view! {
            <div class="message-score" data-testid="message-score"
                data-score=s.activations.to_string()
                data-text-score=s.text.to_string()
                data-cap-margin=s.cap_margin.map(|m| m.to_string()).unwrap_or_default()
                title=title
            >
                {label}
            </div>
        }
    });
    view! {
        <article
            class="message assistant"
            id=format!("msg-{}", reply.id)
            data-testid="message-assistant"
            data-column=column.key()
            data-turn=turn.to_string()
            data-streaming=reply.streaming.to_string()
        >
            <div class="message-text">{reply.content}</div>
            {score}
            {reply.error.map(|e| view! { <div class="error" role="alert">{e}</div> })}
            {reply.meta.map(|m| view! { <div class="message-meta muted" data-testid="message-meta">{m}</div> })}
        </article>
    }
}
