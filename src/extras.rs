//! Page state beyond the conversation (issue 6): the preset player, the conversation set aside
//! when a preset, a file or a share link replaced it, classroom mode, the tour and the
//! shortcuts help; and the flows that tie them to [`AppState`]. The pure parts live in
//! `presets`, `share` and `shortcuts`; the components in `components::{presets_panel,
//! share_menu, classroom, tour, shortcuts}`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

use crate::byo::browser::model_url;
use crate::presets::{self, Player, Preset, last_turn_failed, last_turn_settled};
use crate::session::AppState;
use crate::share::{self, SharedAxis, SharedConversation, SharedModel, Snapshot};
use crate::shortcuts::{KeyContext, Shortcut, shortcut_for};

/// localStorage key of classroom mode ("on" / "off").
pub const CLASSROOM_KEY: &str = "assistant-axis/classroom";
/// localStorage key of the conversation set aside by the last replacement.
pub const SET_ASIDE_KEY: &str = "assistant-axis/set-aside";
/// The class on `<html>` in classroom mode.
pub const CLASSROOM_CLASS: &str = "classroom";

/// A conversation that was replaced (by a preset, a file or a share link) and can be brought
/// back; kept across reloads until it is brought back or discarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetAside {
    /// "when you chose the preset “Coding help”".
    pub why: String,
    pub conversation: SharedConversation,
}

#[derive(Clone, Copy)]
pub struct Extras {
    pub presets: StoredValue<Vec<Preset>>,
    pub player: RwSignal<Player>,
    pub classroom: RwSignal<bool>,
    /// The tour's current step (0-based), `None` when closed.
    pub tour: RwSignal<Option<usize>>,
    pub help_open: RwSignal<bool>,
    pub set_aside: RwSignal<Option<SetAside>>,
    /// What a file or link just opened (errors go to the page's notice instead).
    pub info: RwSignal<Option<String>>,
}

/// Creates the extras' state, provides it as context, opens a `#share=` link if the address has
/// one, and installs the keyboard shortcuts. Call once, right after the [`AppState`].
pub fn init(state: AppState) -> Extras {
    let extras = Extras {
        presets: StoredValue::new(presets::all()),
        player: RwSignal::new(Player::default()),
        classroom: RwSignal::new(storage::get(CLASSROOM_KEY).as_deref() == Some("on")),
        tour: RwSignal::new(None),
        help_open: RwSignal::new(false),
        set_aside: RwSignal::new(load_set_aside()),
        info: RwSignal::new(None),
    };
    provide_context(extras);

    // Classroom mode: a class on the root element, remembered in this browser.
    Effect::new(move |_| {
        let on = extras.classroom.get();
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.class_list().toggle_with_force(CLASSROOM_CLASS, on);
        }
        storage::set(CLASSROOM_KEY, if on { "on" } else { "off" });
    });
    Effect::new(move |_| {
        extras.set_aside.with(|s| match s {
            Some(s) => storage::set(SET_ASIDE_KEY, &serde_json::to_string(s).unwrap_or_default()),
            None => storage::remove(SET_ASIDE_KEY),
        })
    });
    extras.auto_advance(state);

    extras.open_share_link(state);
    let on_hash = window_event_listener(leptos::ev::hashchange, move |_| {
        extras.open_share_link(state)
    });
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        extras.on_key(state, &ev);
    });
    // The page lives as long as the app: the listeners are never removed.
    std::mem::forget((on_hash, on_key));
    extras
}

fn load_set_aside() -> Option<SetAside> {
    let text = storage::get(SET_ASIDE_KEY)?;
    let parsed = serde_json::from_str::<SetAside>(&text).ok().filter(|s| {
        // Re-validate like any shared conversation (format and version).
        share::from_json(&serde_json::to_string(&s.conversation).unwrap_or_default()).is_ok()
    });
    if parsed.is_none() {
        storage::remove(SET_ASIDE_KEY);
    }
    parsed
}

impl AppState {
    /// Everything a share carries, as it is now.
    pub fn snapshot(&self) -> SharedConversation {
        let axis = self.axis.get_untracked().map(|a| SharedAxis {
            model_id: a.model_id,
            monitor_layer: a.monitor_layer,
        });
        let settings = self.settings.get_untracked();
        let capping = self.capping.get_untracked();
        let system_prompt = self.system_prompt.get_untracked();
        self.conversation.with_untracked(|conversation| {
            SharedConversation::from_snapshot(Snapshot {
                model: SharedModel {
                    name: self.model_name(),
                    url: model_url(),
                },
                axis,
                system_prompt: &system_prompt,
                settings: &settings,
                capping: &capping,
                chart_view: self.chart_view.get_untracked(),
                conversation,
            })
        })
    }

    /// Nothing that a replacement would lose: no turns and no system prompt.
    pub fn is_blank(&self) -> bool {
        self.conversation.with_untracked(|c| c.turns.is_empty())
            && self.system_prompt.with_untracked(|s| s.trim().is_empty())
    }

    /// Shows `shared` in place of the current conversation (with its settings, capping choice
    /// and chart view). Fresh ids keep the worker's events apart from earlier answers.
    pub fn replace_with(&self, shared: &SharedConversation) {
        let first_id = self.next_id.get_untracked();
        let conversation = shared.to_conversation(first_id);
        self.next_id.set(conversation.max_id().max(first_id) + 1);
        self.conversation.set(conversation);
        self.system_prompt.set(shared.system_prompt.clone());
        self.settings.set(shared.settings.clone());
        let mut capping = shared.capping.clone();
        if let Some(axis) = self.axis.get_untracked() {
            capping.fit(&axis.capping);
        }
        self.capping.set(capping);
        self.chart_view.set(shared.chart_view);
    }
}

impl Extras {
    /// Puts the current conversation aside (when there is one), then shows `shared` instead.
    fn replace(&self, state: AppState, shared: &SharedConversation, why: String) {
        if !state.is_blank() {
            self.set_aside.set(Some(SetAside {
                why,
                conversation: state.snapshot(),
            }));
        }
        state.replace_with(shared);
    }

    /// Starts preset `index` from a cleared conversation with its system prompt.
    pub fn choose_preset(&self, state: AppState, index: usize) {
        if state.generating.get_untracked().is_some() {
            return;
        }
        let Some(preset) = self.presets.with_value(|p| p.get(index).cloned()) else {
            return;
        };
        let mut empty = state.snapshot();
        empty.turns.clear();
        empty.system_prompt = preset.system_prompt.clone();
        let unchanged = state.conversation.with_untracked(|c| c.turns.is_empty())
            && state.system_prompt.get_untracked() == preset.system_prompt;
        if !unchanged {
            self.replace(
                state,
                &empty,
                format!("when you chose the preset “{}”", preset.title),
            );
        }
        self.player.set(Player::start(index));
        self.info.set(None);
    }

    /// Sends exactly the next scripted turn (and stops auto-advance).
    pub fn step(&self, state: AppState) {
        self.player.update(|p| p.playing = false);
        self.send_next(state);
    }

    pub fn play(&self, state: AppState) {
        if self.next_turn().is_none() {
            return;
        }
        if state.can_send() && state.conversation.with_untracked(last_turn_settled) {
            self.send_next(state);
        }
        self.player.update(|p| p.playing = true);
    }

    pub fn pause(&self) {
        self.player.update(|p| p.playing = false);
    }

    /// The next scripted user turn, if any.
    pub fn next_turn(&self) -> Option<String> {
        let player = self.player.get_untracked();
        self.presets
            .with_value(|p| player.next_turn(p).map(str::to_owned))
    }

    fn send_next(&self, state: AppState) {
        let Some(text) = self.next_turn() else {
            return;
        };
        if !state.can_send() {
            return;
        }
        state.submit(text);
        self.player.update(|p| p.sent += 1);
    }

    /// While playing: once both columns have answered, the next turn goes out; a stopped or
    /// failed turn pauses the run, the last turn ends it.
    fn auto_advance(&self, state: AppState) {
        let extras = *self;
        Effect::new(move |_| {
            let player = extras.player.get();
            let can_send = state.can_send();
            let (settled, failed) = state
                .conversation
                .with(|c| (last_turn_settled(c), last_turn_failed(c)));
            if !player.playing || !can_send || !settled {
                return;
            }
            let has_next = extras.presets.with_value(|p| player.next_turn(p).is_some());
            if !has_next || failed || state.stop_requested.get_untracked() {
                extras.pause();
            } else {
                extras.send_next(state);
            }
        });
    }

    /// Opens the `#share=` link in the address bar, if any, and removes it from there so that a
    /// reload does not open it again over later edits.
    pub fn open_share_link(&self, state: AppState) {
        let hash = share::browser::current_hash();
        let Some(payload) = share::fragment_payload(&hash).map(str::to_owned) else {
            return;
        };
        share::browser::remove_fragment();
        match share::from_fragment(&payload) {
            Ok(shared) => self.open_shared(state, shared, "when you opened a share link"),
            Err(e) => state.notice.set(Some(format!(
                "The share link could not be opened: {e}. Nothing was changed."
            ))),
        }
    }

    /// Shows a conversation from a file or link, setting the current one aside.
    pub fn open_shared(&self, state: AppState, shared: SharedConversation, why: &str) {
        if state.generating.get_untracked().is_some() {
            state.notice.set(Some(
                "Stop the answer being written first, then open the conversation again.".to_owned(),
            ));
            return;
        }
        self.replace(state, &shared, why.to_owned());
        self.player.set(Player::default());
        let turns = shared.turns.len();
        let mut text = format!(
            "Opened a shared conversation: {turns} turn{}, {} scored answers.",
            if turns == 1 { "" } else { "s" },
            shared.scored_answers()
        );
        if shared.model.url != model_url() {
            text.push_str(&format!(
                " It was made with {} ({}); this page runs {}.",
                shared.model.name,
                shared.model.url,
                model_url()
            ));
        }
        self.info.set(Some(text));
    }

    /// Brings the set-aside conversation back; the current one (if any) takes its place.
    pub fn bring_back(&self, state: AppState) {
        if state.generating.get_untracked().is_some() {
            return;
        }
        let Some(previous) = self.set_aside.get_untracked() else {
            return;
        };
        self.set_aside.set(None);
        self.replace(
            state,
            &previous.conversation,
            "when you brought back the earlier one".to_owned(),
        );
        self.player.set(Player::default());
        self.info.set(None);
    }

    fn on_key(&self, state: AppState, ev: &web_sys::KeyboardEvent) {
        let ctx = KeyContext {
            ctrl_alt_or_meta: ev.ctrl_key() || ev.alt_key() || ev.meta_key(),
            in_text_field: ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| is_text_field(&el)),
        };
        let Some(shortcut) = shortcut_for(&ev.key(), ctx) else {
            return;
        };
        match shortcut {
            Shortcut::Escape => {
                if self.tour.get_untracked().is_some() {
                    self.tour.set(None);
                } else if self.help_open.get_untracked() {
                    self.help_open.set(false);
                } else if state.generating.get_untracked().is_some() {
                    state.stop();
                } else {
                    return;
                }
            }
            Shortcut::FocusInput => {
                if let Some(el) = find("[data-testid=composer-input]") {
                    let _ = el.focus();
                }
            }
            Shortcut::ToggleCapping => state.capping.update(|c| c.enabled = !c.enabled),
            Shortcut::ToggleClassroom => self.classroom.update(|c| *c = !*c),
            Shortcut::PresetStep => self.step(state),
            Shortcut::PresetPlayPause => {
                if self.player.get_untracked().playing {
                    self.pause();
                } else {
                    self.play(state);
                }
            }
            Shortcut::OpenTour => self.tour.set(Some(0)),
            Shortcut::ShowHelp => self.help_open.set(true),
        }
        ev.prevent_default();
    }
}

/// Keys typed here belong to the field: text inputs, text areas, selects, editable elements.
fn is_text_field(el: &web_sys::Element) -> bool {
    match el.tag_name().to_ascii_uppercase().as_str() {
        "TEXTAREA" | "SELECT" => true,
        "INPUT" => {
            let kind = el.get_attribute("type").unwrap_or_default();
            !matches!(
                kind.to_ascii_lowercase().as_str(),
                "checkbox" | "radio" | "button" | "submit" | "reset" | "file" | "range"
            )
        }
        _ => el
            .dyn_ref::<web_sys::HtmlElement>()
            .is_some_and(|h| h.is_content_editable()),
    }
}

/// The first element matching `css`, as an `HtmlElement`.
pub fn find(css: &str) -> Option<web_sys::HtmlElement> {
    web_sys::window()?
        .document()?
        .query_selector(css)
        .ok()
        .flatten()?
        .dyn_into()
        .ok()
}

mod storage {
    //! Small localStorage helpers: failures (no storage, full) are ignored, these are
    //! conveniences.

    fn local() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    pub fn get(key: &str) -> Option<String> {
        local()?.get_item(key).ok().flatten()
    }

    pub fn set(key: &str, value: &str) {
        if let Some(s) = local() {
            let _ = s.set_item(key, value);
        }
    }

    pub fn remove(key: &str) {
        if let Some(s) = local() {
            let _ = s.remove_item(key);
        }
    }
}
