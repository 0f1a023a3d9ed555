//! A dismissable one-off message (e.g. a saved conversation that could not be restored).

use leptos::prelude::*;

use crate::session::AppState;

#[component]
pub fn Notice() -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        state.notice.get().map(|text| {
            view! {
                <div class="notice" role="status" data-testid="notice">
                    <span>{text}</span>
                    <button class="button ghost" on:click=move |_| state.notice.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}
