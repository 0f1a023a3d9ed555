//! Classroom mode (large type, high contrast; a class on the root element, remembered in this
//! browser), and the header's extra actions: tour, share, classroom mode, shortcuts; plus the
//! overlays they open.

use leptos::prelude::*;

use crate::components::share_menu::ShareMenu;
use crate::components::shortcuts::ShortcutsHelp;
use crate::components::tour::Tour;
use crate::extras::Extras;

#[component]
pub fn ClassroomToggle() -> impl IntoView {
    let extras = expect_context::<Extras>();
    view! {
        <button type="button" class="button ghost toggle-button" data-testid="classroom-toggle"
            aria-pressed=move || extras.classroom.get().to_string()
            title="Large type and high contrast, for a projector (m)"
            on:click=move |_| extras.classroom.update(|c| *c = !*c)
        >
            <span class="toggle-dot" aria-hidden="true"></span>
            "Classroom mode"
        </button>
    }
}

/// Tour, Share, Classroom mode and the shortcuts help, for the header.
#[component]
pub fn HeaderExtras() -> impl IntoView {
    let extras = expect_context::<Extras>();
    view! {
        <button type="button" class="button ghost" data-testid="open-tour"
            title="A guided tour of the page in five steps (t)"
            on:click=move |_| extras.tour.set(Some(0))
        >"Tour"</button>
        <ShareMenu />
        <ClassroomToggle />
        <button type="button" class="button ghost" data-testid="open-shortcuts"
            aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)"
            on:click=move |_| extras.help_open.set(true)
        >"?"</button>
    }
}

/// The tour's card and the shortcuts dialog, above the page.
#[component]
pub fn Overlays() -> impl IntoView {
    let extras = expect_context::<Extras>();
    view! {
        <Tour />
        <Show when=move || extras.help_open.get()>
            <ShortcutsHelp />
        </Show>
    }
}
