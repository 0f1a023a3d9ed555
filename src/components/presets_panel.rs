//! Presets: choose a scripted conversation, read what to watch for, then Play it (each next
//! user turn goes out once both columns have answered the previous one), Pause/Resume, or Step
//! through it one turn at a time.

use leptos::prelude::*;

use crate::extras::Extras;
use crate::session::AppState;

#[component]
pub fn PresetsPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let extras = expect_context::<Extras>();
    let player = extras.player;
    let presets = extras.presets;
    let chosen = move || {
        player
            .get()
            .preset
            .and_then(|i| presets.with_value(|p| p.get(i).cloned()))
    };
    let idle = move || !state.busy();
    let ready = move || state.engine.get().is_ready();
    let has_next = move || {
        let p = player.get();
        presets.with_value(|all| p.next_turn(all).is_some())
    };
    let progress = move || {
        let p = player.get();
        presets.with_value(|all| p.progress(all))
    };
    let progress_value = move || player.get().sent.to_string();
    let progress_max = move || {
        let p = player.get();
        presets.with_value(|all| p.total(all)).max(1).to_string()
    };
    let next_text = move || {
        let p = player.get();
        presets.with_value(|all| p.next_turn(all).map(str::to_owned))
    };

    let options = presets.with_value(|all| {
        all.iter()
            .enumerate()
            .map(|(i, p)| {
                view! { <option value=i.to_string() data-testid="preset-option">{p.title.clone()}</option> }
            })
            .collect_view()
    });

    let play_pause = move || {
        if player.get().playing {
            view! {
                <button type="button" class="button" data-testid="preset-pause"
                    on:click=move |_| extras.pause()
                >"Pause"</button>
            }
            .into_any()
        } else {
            let label = if player.get().sent == 0 {
                "Play"
            } else {
                "Resume"
            };
            view! {
                <button type="button" class="button" data-testid="preset-play"
                    disabled=move || !ready() || !has_next()
                    on:click=move |_| extras.play(state)
                >{label}</button>
            }
            .into_any()
        }
    };

    view! {
        <section class="presets-panel" data-testid="presets-panel" aria-labelledby="presets-title">
            <div class="presets-row">
                <h2 id="presets-title">"Presets"</h2>
                <label class="preset-choice">
                    <span class="visually-hidden">"Scripted conversation"</span>
                    <select data-testid="preset-select"
                        disabled=move || !idle()
                        prop:value=move || player.get().preset.map(|i| i.to_string()).unwrap_or_default()
                        on:change=move |ev| {
                            if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                                extras.choose_preset(state, i);
                            }
                        }
                    >
                        <option value="" disabled=true>"Choose a scripted conversation…"</option>
                        {options}
                    </select>
                </label>
                <Show when=move || player.get().preset.is_some()>
                    <div class="preset-controls" role="group" aria-label="Play the preset">
                        {play_pause}
                        <button type="button" class="button ghost" data-testid="preset-step"
                            title="Send exactly the next turn (n)"
                            disabled=move || !state.can_send() || !has_next()
                            on:click=move |_| extras.step(state)
                        >"Step"</button>
                        <span class="preset-progress" data-testid="preset-progress"
                            data-sent=move || player.get().sent.to_string()
                            data-playing=move || player.get().playing.to_string()
                            aria-live="polite"
                        >
                            <progress max=progress_max value=progress_value aria-hidden="true"></progress>
                            {progress}
                        </span>
                    </div>
                </Show>
                <Show when=move || player.get().preset.is_none()>
                    <span class="muted">"Seven short conversations that show persona drift, to play into both columns."</span>
                </Show>
            </div>
            {move || chosen().map(|p| view! {
                <p class="preset-note" data-testid="preset-note">
                    <strong>"What to watch: "</strong>{p.watch_for}
                </p>
            })}
            <Show when=move || player.get().preset.is_some()>
                <p class="preset-next muted" data-testid="preset-next">
                    {move || match next_text() {
                        Some(t) if !ready() => format!("Load the model to play it. Next: “{t}”"),
                        Some(t) => format!("Next: “{t}”"),
                        None => "All turns sent. Choose another preset, or keep chatting.".to_owned(),
                    }}
                </p>
            </Show>
        </section>
    }
}
