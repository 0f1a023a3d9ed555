//! Keyboard shortcuts: which key does what, and when a key is left alone (while typing in a
//! field, or with Ctrl/Alt/Meta held, the browser and the field keep their keys). Pure logic,
//! unit-tested natively; `components::shortcuts` listens and shows the help.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    FocusInput,
    /// Stop the answer being written, or close an open dialog (the tour, this help).
    Escape,
    ToggleCapping,
    ToggleClassroom,
    PresetStep,
    PresetPlayPause,
    OpenTour,
    ShowHelp,
}

/// What the help lists, in order: keys as shown, and what they do.
pub const HELP: &[(&str, &str)] = &[
    ("/", "Put the cursor in the message box"),
    (
        "Enter",
        "Send the message (in the message box; Shift+Enter for a new line)",
    ),
    (
        "Esc",
        "Stop the answer being written, or close the tour / this help",
    ),
    ("c", "Turn the capped twin on or off"),
    ("n", "Send the next turn of the chosen preset"),
    ("p", "Play or pause the chosen preset"),
    ("m", "Classroom mode (large type, high contrast) on or off"),
    ("t", "Start the guided tour"),
    ("?", "Show these shortcuts"),
];

/// The modifier keys held and whether the key went to a text field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyContext {
    pub ctrl_alt_or_meta: bool,
    /// The event's target is an input, textarea, select or editable element.
    pub in_text_field: bool,
}

/// The shortcut for `key` (a `KeyboardEvent.key`), if any. In a text field only Esc counts, so
/// typing "c" or "?" into the message box never toggles anything.
pub fn shortcut_for(key: &str, ctx: KeyContext) -> Option<Shortcut> {
    if ctx.ctrl_alt_or_meta {
        return None;
    }
    if key == "Escape" {
        return Some(Shortcut::Escape);
    }
    if ctx.in_text_field {
        return None;
    }
    Some(match key {
        "/" => Shortcut::FocusInput,
        "c" | "C" => Shortcut::ToggleCapping,
        "m" | "M" => Shortcut::ToggleClassroom,
        "n" | "N" => Shortcut::PresetStep,
        "p" | "P" => Shortcut::PresetPlayPause,
        "t" | "T" => Shortcut::OpenTour,
        "?" => Shortcut::ShowHelp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts_outside_text_fields_only() {
        let free = KeyContext::default();
        let typing = KeyContext {
            in_text_field: true,
            ..free
        };
        let ctrl = KeyContext {
            ctrl_alt_or_meta: true,
            ..free
        };
        assert_eq!(shortcut_for("?", free), Some(Shortcut::ShowHelp));
        assert_eq!(shortcut_for("c", free), Some(Shortcut::ToggleCapping));
        assert_eq!(shortcut_for("/", free), Some(Shortcut::FocusInput));
        assert_eq!(shortcut_for("n", free), Some(Shortcut::PresetStep));
        assert_eq!(shortcut_for("x", free), None);
        for key in ["?", "c", "/", "n", "p", "m", "t"] {
            assert_eq!(shortcut_for(key, typing), None, "{key} while typing");
            assert_eq!(shortcut_for(key, ctrl), None, "Ctrl+{key}");
        }
        assert_eq!(shortcut_for("Escape", typing), Some(Shortcut::Escape));
        assert_eq!(shortcut_for("Escape", ctrl), None);
    }

    #[test]
    fn every_single_key_in_the_help_is_a_shortcut() {
        for (key, _) in HELP {
            if *key == "Enter" {
                continue; // the message box's own key
            }
            let key = if *key == "Esc" { "Escape" } else { key };
            assert!(
                shortcut_for(key, KeyContext::default()).is_some(),
                "{key} is listed but does nothing"
            );
        }
    }
}
