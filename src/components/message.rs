//! One chat message. Model output and user text are inserted as text nodes, never as HTML.

use leptos::prelude::*;

use std::collections::HashSet;

use crate::conversation::TokenScores;
use crate::conversation::{Column, Reply};
use crate::heatmap;
use crate::session::AppState;
use crate::speaker_tag::{self, JUDGE_NOTE};

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
pub fn AssistantMessage(
    reply: Reply,
    column: Column,
    turn: usize,
    /// The answer was written with steering on.
    steered: bool,
    /// The conversation's persona words (`speaker_tag::persona_words`), for the identity tag.
    persona: HashSet<String>,
) -> impl IntoView {
    let speaker = (!reply.streaming && reply.error.is_none())
        .then(|| speaker_tag::tag(&reply.content, &persona))
        .flatten()
        .map(|t| {
            view! {
                <div class="speaker-tag" data-testid="speaker-tag" data-speaker=t.key() title=JUDGE_NOTE>
                    "speaks as: " <strong>{t.text()}</strong>
                </div>
            }
        });
    let score = reply.score.map(|s| {
        let label = column.score_label(steered, s.activations, s.text);
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
            {message_body(reply.content, reply.tokens)}
            {speaker}
            {score}
            {reply.error.map(|e| view! { <div class="error" role="alert">{e}</div> })}
            {reply.meta.map(|m| view! { <div class="message-meta muted" data-testid="message-meta">{m}</div> })}
        </article>
    }
}

/// The answer's text, or — when the reader asks for it and the per-token readings exist — the
/// same text as a token heatmap (each token a text node in a coloured span; never markup).
fn message_body(content: String, tokens: Option<TokenScores>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let show = RwSignal::new(false);
    let Some(tokens) = tokens.filter(|t| !t.pieces.is_empty()) else {
        return view! { <div class="message-text">{content}</div> }.into_any();
    };
    let plain = content.clone();
    let heat = move || {
        let view = state.chart_view.get();
        let toks = heatmap::tokens(&tokens, view);
        let scale = heatmap::scale(&toks);
        let spans = toks
            .into_iter()
            .map(|t| {
                let style = format!(
                    "background:{};color:{}",
                    heatmap::colour(t.value, scale),
                    heatmap::ink(t.value, scale)
                );
                let tip = format!("{:+.2}", t.value);
                view! {
                    <span class="heat-token" data-testid="heat-token" data-value=t.value.to_string()
                        style=style title=tip>{t.text}</span>
                }
            })
            .collect_view();
        let reading = match view {
            crate::chart::ChartView::Text => "text re-read",
            crate::chart::ChartView::Activations => "activations",
        };
        view! {
            <div class="message-text heatmap" data-testid="heatmap">{spans}</div>
            <div class="heat-legend muted" data-testid="heat-legend">
                <span class="heat-swatch" style=format!("background:{}", heatmap::colour(-scale, scale))></span>
                {format!(" {:+.1} role-play ", -scale)}
                <span class="heat-swatch" style="background:#ffffff"></span>
                " 0 "
                <span class="heat-swatch" style=format!("background:{}", heatmap::colour(scale, scale))></span>
                {format!(" {scale:+.1} Assistant · per token, {reading}, monitor layer")}
            </div>
        }
    };
    view! {
        <Show when=move || show.get() fallback=move || view! { <div class="message-text">{plain.clone()}</div> }>
            {heat.clone()}
        </Show>
        <button type="button" class="link-button" data-testid="heatmap-toggle"
            aria-pressed=move || show.get().to_string()
            on:click=move |_| show.update(|s| *s = !*s)
        >{move || if show.get() { "Plain text" } else { "Token heatmap" }}</button>
    }
    .into_any()
}
