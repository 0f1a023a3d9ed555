//! Sharing without a server: download the conversation as a JSON file, open such a file, or
//! copy a link that carries it in the address fragment. Also the banner that offers back a
//! conversation replaced by a preset, a file or a link.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::extras::Extras;
use crate::session::AppState;
use crate::share::{self, LONG_LINK};

#[component]
pub fn ShareMenu() -> impl IntoView {
    let state = expect_context::<AppState>();
    let extras = expect_context::<Extras>();
    let link = RwSignal::new(None::<String>);
    let copied = RwSignal::new(None::<Result<(), String>>);
    let idle = move || !state.busy();
    let has_turns = move || state.conversation.with(|c| !c.turns.is_empty());
    let input_ref = NodeRef::<leptos::html::Input>::new();

    let export = move |_| {
        let json = state.snapshot().to_json_pretty();
        match share::browser::download(&file_name(), &json) {
            Ok(()) => close_menu(),
            Err(e) => state
                .notice
                .set(Some(format!("The file could not be saved: {e}."))),
        }
    };
    let make_link = move |_| {
        let fragment = state.snapshot().to_fragment();
        let base = share::browser::address_without_fragment().unwrap_or_default();
        let url = format!("{base}#{fragment}");
        link.set(Some(url.clone()));
        copied.set(None);
        spawn_local(async move {
            copied.set(Some(share::browser::copy_to_clipboard(&url).await));
        });
    };
    let open_file = move |_| {
        if let Some(input) = input_ref.get() {
            input.click();
        }
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            let read = share::browser::read_chosen_file(&input).await;
            // Choosing the same file again must fire `change` again.
            input.set_value("");
            close_menu();
            let Some(read) = read else {
                return;
            };
            match read.and_then(|text| share::from_json(&text)) {
                Ok(shared) => {
                    extras.open_shared(state, shared, "when you opened a conversation file")
                }
                Err(e) => state.notice.set(Some(format!(
                    "The file could not be opened: {e}. Your conversation is unchanged."
                ))),
            }
        });
    };

    let link_info = move || {
        link.get().map(|url| {
            let n = url.chars().count();
            let status = match copied.get() {
                None => String::new(),
                Some(Ok(())) => " Copied to the clipboard.".to_owned(),
                Some(Err(e)) => format!(" Not copied ({e}): select the link and copy it."),
            };
            view! {
                <label class="share-link">
                    "Share link"
                    <input type="text" readonly=true data-testid="share-link" prop:value=url.clone()
                        on:focus=move |ev| {
                            if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                el.select();
                            }
                        }
                    />
                </label>
                <p class="share-length" data-testid="share-link-length" data-length=n.to_string() aria-live="polite">
                    {format!("{} characters.{status}", group_thousands(n))}
                </p>
                {(n > LONG_LINK).then(|| view! {
                    <p class="share-warning" role="alert" data-testid="share-link-warning">
                        {format!("This link is very long (over {} characters): chat apps, mail or link shorteners may cut it. Download the file instead.", group_thousands(LONG_LINK))}
                    </p>
                })}
            }
        })
    };

    view! {
        <details class="share-menu" data-testid="share-menu">
            <summary class="button ghost" data-testid="open-share">"Share"</summary>
            <div class="share-popover">
                <p class="muted share-intro">"The conversation, its scores and settings go into a file or a link: no server is involved."</p>
                <div class="share-actions">
                    <button type="button" class="button" data-testid="export-json"
                        disabled=move || !idle() || !has_turns()
                        on:click=export
                    >"Download conversation (.json)"</button>
                    <button type="button" class="button ghost" data-testid="import-json"
                        disabled=move || !idle()
                        on:click=open_file
                    >"Open a conversation file…"</button>
                    <input type="file" accept=".json,application/json" class="visually-hidden"
                        tabindex="-1" aria-hidden="true"
                        data-testid="import-file" node_ref=input_ref on:change=on_file
                    />
                    <button type="button" class="button ghost" data-testid="copy-share-link"
                        disabled=move || !idle() || !has_turns()
                        on:click=make_link
                    >"Copy share link"</button>
                </div>
                {link_info}
            </div>
        </details>
    }
}

/// What a file or link just opened, and the offer to bring back the conversation that a
/// preset, a file or a share link replaced.
#[component]
pub fn SetAsideBanner() -> impl IntoView {
    let state = expect_context::<AppState>();
    let extras = expect_context::<Extras>();
    let info = move || {
        extras.info.get().map(|text| {
            view! {
                <div class="info-banner" role="status" data-testid="share-info">
                    <span>{text}</span>
                    <button type="button" class="button ghost" on:click=move |_| extras.info.set(None)>"Dismiss"</button>
                </div>
            }
        })
    };
    let set_aside = move || {
        extras.set_aside.get().map(|s| {
            let turns = s.conversation.turns.len();
            let what = if turns == 0 {
                "Your earlier system prompt was".to_owned()
            } else {
                format!(
                    "Your earlier conversation ({turns} turn{}) was",
                    if turns == 1 { "" } else { "s" }
                )
            };
            view! {
                <div class="set-aside" role="status" data-testid="set-aside">
                    <span>{format!("{what} set aside {}.", s.why)}</span>
                    <span class="set-aside-actions">
                        <button type="button" class="button ghost" data-testid="bring-back"
                            disabled=move || state.busy()
                            on:click=move |_| extras.bring_back(state)
                        >"Bring it back"</button>
                        <button type="button" class="button ghost" data-testid="discard-set-aside"
                            on:click=move |_| extras.set_aside.set(None)
                        >"Discard it"</button>
                    </span>
                </div>
            }
        })
    };
    view! { {info} {set_aside} }
}

/// Folds the Share menu away (after a download or an opened file: what happened shows below).
fn close_menu() {
    if let Some(menu) = crate::extras::find("[data-testid=share-menu]") {
        let _ = menu.remove_attribute("open");
    }
}

/// `assistant-axis-2026-01-31-1405.json` (local time).
fn file_name() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "assistant-axis-{:04}-{:02}-{:02}-{:02}{:02}.json",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
