//! The keyboard shortcuts help (opened with `?` or from the header). The keys themselves are
//! handled in `extras` with the mapping of `crate::shortcuts`.

use leptos::prelude::*;

use crate::extras::{Extras, find};
use crate::shortcuts::HELP;

#[component]
pub fn ShortcutsHelp() -> impl IntoView {
    let extras = expect_context::<Extras>();
    let close = move || extras.help_open.set(false);
    request_animation_frame(|| {
        if let Some(button) = find("[data-testid=close-shortcuts]") {
            let _ = button.focus();
        }
    });
    view! {
        <div class="modal-backdrop" on:click=move |ev| {
            // Only a click on the backdrop itself, not inside the dialog.
            if ev.target() == ev.current_target() {
                close();
            }
        }>
            <section class="modal" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title"
                data-testid="shortcuts-help"
            >
                <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                <table class="shortcuts-table">
                    <tbody>
                        {HELP.iter().map(|(key, what)| view! {
                            <tr><th scope="row"><kbd>{*key}</kbd></th><td>{*what}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="muted">"Single keys do nothing while you type in a field; Esc always works."</p>
                <button type="button" class="button" data-testid="close-shortcuts" on:click=move |_| close()>"Close"</button>
            </section>
        </div>
    }
}
