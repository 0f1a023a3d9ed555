//! Sharing a conversation without a server: a versioned JSON document (downloaded as a file, or
//! carried in the page address after `#share=`), and its validation on the way back in. The
//! format is documented in `docs/demo.md` ("Sharing"). Pure logic, unit-tested natively; the
//! browser side (download, file input, address bar, clipboard) is [`browser`].
//!
//! A link's fragment is `#share=` + one codec letter + the payload:
//! `z` = base64url (no padding) of the raw-DEFLATE-compressed JSON (what the page writes);
//! `j` = base64url of the JSON itself (handy for tools and hand-made links).

use engine::axis::CapSetting;
use serde::{Deserialize, Serialize};

use crate::capping::CappingChoice;
use crate::chart::ChartView;
use crate::conversation::{Conversation, Reply, Turn};
use crate::persist::sanitize;
use crate::worker::protocol::{WireGenerationSettings, WireScore, WireTokenScores};

/// The `format` field of every shared conversation.
pub const FORMAT: &str = "assistant-axis/conversation";
/// Bump with any incompatible change; the page reads this version and refuses newer ones.
pub const FORMAT_VERSION: u32 = 1;
/// The address fragment's key: `#share=<codec><payload>`.
pub const FRAGMENT_KEY: &str = "share=";
/// Links longer than this may be cut by chat apps, mail clients or link shorteners.
pub const LONG_LINK: usize = 8_000;
/// Refuse what the page cannot show before parsing it. A long real conversation (200 turns of
/// 128-token answers with their token heatmaps, both columns) is about 3 MB of JSON; a link
/// carries far less. The link bound applies to the *unpacked* text, so a small compressed link
/// cannot unpack into megabytes.
const MAX_JSON_BYTES: usize = 8 << 20;
const MAX_LINK_JSON_BYTES: usize = 1 << 20;
/// Rendering time grows with turns (5,000 turns took 19 s in a review); 400 is beyond what a
/// context window of a few thousand tokens lets a conversation reach in one sitting.
const MAX_TURNS: usize = 400;
/// No score of a real model comes near this; anything beyond (or not finite) is damage.
const MAX_SCORE: f32 = 1.0e6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedModel {
    /// Human-readable name of the model the page ran.
    pub name: String,
    /// The GGUF's URL, relative to the page for the shipped model.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedAxis {
    /// The axis file's `model_id`.
    pub model_id: String,
    pub monitor_layer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SharedScore {
    pub activations: f32,
    pub text: f32,
    #[serde(default)]
    pub cap_margin: Option<f32>,
    /// The answer on the persona map (PC1, PC2), as answered and as re-read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_activations: Option<[f32; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_text: Option<[f32; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedReply {
    pub content: String,
    #[serde(default)]
    pub score: Option<SharedScore>,
    /// "24 tokens · stop token · 3.1 s · 7.7 tok/s".
    #[serde(default)]
    pub meta: Option<String>,
    /// Why the answer failed or was not written.
    #[serde(default)]
    pub error: Option<String>,
    /// Per-token values for the heatmap (left out when any is not finite: JSON has no NaN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<WireTokenScores>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedTurn {
    pub user: String,
    /// The capping this turn asked for; `null`: capping was off.
    #[serde(default)]
    pub capping: Option<CapSetting>,
    pub default: SharedReply,
    #[serde(default)]
    pub capped: Option<SharedReply>,
    /// The steering strength α of this turn; absent: no steering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steering: Option<f32>,
}

/// Everything needed to show a conversation again: messages, scores, settings, capping, system
/// prompt, and which model and axis produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedConversation {
    pub format: String,
    pub version: u32,
    pub model: SharedModel,
    /// `null` when no axis file was loaded (answers are then unscored).
    pub axis: Option<SharedAxis>,
    pub system_prompt: String,
    pub settings: WireGenerationSettings,
    pub capping: CappingChoice,
    pub chart_view: ChartView,
    pub turns: Vec<SharedTurn>,
}

/// The page's state that a share carries (borrowed when exporting).
pub struct Snapshot<'a> {
    pub model: SharedModel,
    pub axis: Option<SharedAxis>,
    pub system_prompt: &'a str,
    pub settings: &'a WireGenerationSettings,
    pub capping: &'a CappingChoice,
    pub chart_view: ChartView,
    pub conversation: &'a Conversation,
}

impl SharedConversation {
    pub fn from_snapshot(s: Snapshot<'_>) -> SharedConversation {
        SharedConversation {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            model: s.model,
            axis: s.axis,
            system_prompt: s.system_prompt.to_owned(),
            settings: s.settings.clone(),
            capping: s.capping.clone(),
            chart_view: s.chart_view,
            turns: s.conversation.turns.iter().map(shared_turn).collect(),
        }
    }

    /// The conversation as the page holds it, with fresh ids `first_id..`. Answers that were
    /// still being written when shared are marked as such.
    pub fn to_conversation(&self, first_id: u64) -> Conversation {
        let mut id = first_id;
        let mut take = || {
            id += 1;
            id - 1
        };
        let mut c = Conversation {
            turns: self
                .turns
                .iter()
                .map(|t| Turn {
                    id: take(),
                    user: t.user.clone(),
                    default: reply(&t.default, take()),
                    capped: t.capped.as_ref().map(|r| reply(r, take())),
                    capping: t.capping,
                    steering: t.steering.filter(|a| a.is_finite()),
                })
                .collect(),
        };
        c.interrupt_streaming();
        c
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The fragment after `#`: `share=z<base64url(deflate(json))>`.
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
        format!("{FRAGMENT_KEY}z{}", base64url_encode(&packed))
    }

    /// How many answers carry a score (what the chart can plot).
    pub fn scored_answers(&self) -> usize {
        self.turns
            .iter()
            .flat_map(|t| std::iter::once(&t.default).chain(t.capped.as_ref()))
            .filter(|r| r.score.is_some())
            .count()
    }
}

fn shared_turn(t: &Turn) -> SharedTurn {
    SharedTurn {
        user: t.user.clone(),
        capping: t.capping,
        default: shared_reply(&t.default),
        capped: t.capped.as_ref().map(shared_reply),
        steering: t.steering.filter(|a| a.is_finite()),
    }
}

fn finite_pair(p: Option<[f32; 2]>) -> Option<[f32; 2]> {
    p.filter(|v| v.iter().all(|x| x.is_finite()))
}

fn shared_reply(r: &Reply) -> SharedReply {
    let error = match (&r.error, r.streaming) {
        (Some(e), _) => Some(e.clone()),
        (None, true) => Some("interrupted (still being written when shared)".to_owned()),
        (None, false) => None,
    };
    SharedReply {
        content: r.content.clone(),
        // JSON has no NaN: a non-finite reading is left out rather than breaking the file.
        score: r
            .score
            .filter(|s| s.activations.is_finite() && s.text.is_finite())
            .map(|s| SharedScore {
                activations: s.activations,
                text: s.text,
                cap_margin: s.cap_margin.filter(|m| m.is_finite()),
                persona_activations: finite_pair(s.persona_activations),
                persona_text: finite_pair(s.persona_text),
            }),
        meta: r.meta.clone(),
        error,
        tokens: r.tokens.clone().filter(|t| {
            t.activations.iter().chain(&t.text).all(|v| v.is_finite())
                && t.activations.len() == t.pieces.len()
                && t.text.len() == t.pieces.len()
        }),
    }
}

fn reply(r: &SharedReply, id: u64) -> Reply {
    Reply {
        id,
        content: r.content.clone(),
        streaming: false,
        meta: r.meta.clone(),
        error: r.error.clone(),
        score: r.score.map(|s| WireScore {
            activations: s.activations,
            text: s.text,
            cap_margin: s.cap_margin,
            persona_activations: s.persona_activations,
            persona_text: s.persona_text,
        }),
        tokens: r.tokens.clone(),
    }
}

/// Reads and validates a shared conversation. The error is a phrase that completes "The file
/// could not be opened: …".
pub fn from_json(text: &str) -> Result<SharedConversation, String> {
    if text.len() > MAX_JSON_BYTES {
        return Err(format!(
            "it is too large ({:.1} MB; at most {} MB)",
            text.len() as f64 / 1e6,
            MAX_JSON_BYTES >> 20
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("it is not a conversation file (not valid JSON: {e})"))?;
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT) {
        return Err(format!(
            "it is not an Assistant Axis conversation (its \"format\" is {}, expected \"{FORMAT}\")",
            format.map_or_else(|| "missing".to_owned(), |f| format!("{f:?}"))
        ));
    }
    let version = value.get("version").and_then(|v| v.as_u64());
    match version {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(format!(
                "it was saved by a newer version of this page (format version {v}; this page reads version {FORMAT_VERSION}). Open it with an up-to-date copy of the page"
            ));
        }
        other => {
            return Err(format!(
                "its format version is {} (this page reads version {FORMAT_VERSION})",
                other.map_or_else(|| "missing".to_owned(), |v| v.to_string())
            ));
        }
    }
    let mut shared: SharedConversation =
        serde_json::from_value(value).map_err(|e| format!("it is damaged ({e})"))?;
    if shared.turns.len() > MAX_TURNS {
        return Err(format!(
            "it has {} turns (at most {MAX_TURNS})",
            shared.turns.len()
        ));
    }
    check_numbers(&shared)?;
    sanitize(&mut shared.settings);
    Ok(shared)
}

/// Every score and token value must be a finite number of a sane size: JSON has no NaN, but
/// `1e39` parses as an infinite f32, which the page would print as "+inf" and chart as NaN.
fn check_numbers(shared: &SharedConversation) -> Result<(), String> {
    let sane = |v: f32| v.is_finite() && v.abs() <= MAX_SCORE;
    for (i, turn) in shared.turns.iter().enumerate() {
        for reply in std::iter::once(&turn.default).chain(&turn.capped) {
            let mut values: Vec<f32> = Vec::new();
            if let Some(s) = &reply.score {
                values.extend([s.activations, s.text]);
                values.extend(s.cap_margin);
                values.extend(s.persona_activations.into_iter().flatten());
                values.extend(s.persona_text.into_iter().flatten());
            }
            if let Some(t) = &reply.tokens {
                values.extend(t.activations.iter().chain(&t.text));
            }
            values.extend(turn.steering);
            if let Some(bad) = values.into_iter().find(|v| !sane(*v)) {
                return Err(format!(
                    "it is damaged (turn {} has a score of {bad}, which no model produces)",
                    i + 1
                ));
            }
        }
    }
    Ok(())
}

/// The payload of a `#share=` address fragment (`hash` with or without its leading `#`), or
/// `None` when the address carries no share.
pub fn fragment_payload(hash: &str) -> Option<&str> {
    hash.strip_prefix('#')
        .unwrap_or(hash)
        .strip_prefix(FRAGMENT_KEY)
}

/// Decodes a `#share=` payload (codec letter + base64url). The error completes "The share link
/// could not be opened: …".
pub fn from_fragment(payload: &str) -> Result<SharedConversation, String> {
    let payload = payload.trim();
    // base64 makes 4 characters of 3 bytes; an uncompressed link is bounded like its text.
    if payload.len() > MAX_LINK_JSON_BYTES / 3 * 4 + 8 {
        return Err("it is too long".to_owned());
    }
    let mut chars = payload.chars();
    let codec = chars.next().ok_or("it is empty")?;
    let bytes = base64url_decode(chars.as_str())
        .map_err(|e| format!("it is damaged or was cut off ({e})"))?;
    let json = match codec {
        'z' => miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_LINK_JSON_BYTES)
            .map_err(|e| match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => format!(
                    "it unpacks to more than {} MB, more than a shared conversation holds",
                    MAX_LINK_JSON_BYTES >> 20
                ),
                _ => "it is damaged or was cut off (the data does not unpack)".to_owned(),
            })?,
        'j' => bytes,
        other => {
            return Err(format!(
                "it uses an encoding this page does not know ({other:?}); it may come from a newer version of the page"
            ));
        }
    };
    let text = String::from_utf8(json)
        .map_err(|_| "it is damaged or was cut off (not UTF-8 text)".to_owned())?;
    from_json(&text)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64url, without padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for s in &sextets[..chunk.len() + 1] {
            out.push(ALPHABET[*s as usize] as char);
        }
    }
    out
}

/// Decodes base64url with or without padding; also accepts the standard alphabet's `+` and `/`.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return Err(format!("unexpected character at position {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if text.len() % 4 == 1 {
        return Err("its length is impossible for base64".to_owned());
    }
    Ok(out)
}

#[cfg(target_arch = "wasm32")]
pub mod browser {
    //! The browser side: file download, reading a chosen file, the address bar, the clipboard.

    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    thread_local! {
        // The last download's object URL: revoked when the next one is made.
        static LAST_URL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    }

    /// Offers `text` as a file download named `file_name` (through a hidden link whose `href`
    /// stays valid until the next download).
    pub fn download(file_name: &str, text: &str) -> Result<(), String> {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("application/json");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
            .map_err(|_| fail("make the file"))?;
        offer(file_name, &blob)
    }

    /// Offers `bytes` as a binary file download named `file_name`.
    pub fn download_bytes(file_name: &str, bytes: &[u8]) -> Result<(), String> {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("application/octet-stream");
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(|_| fail("make the file"))?;
        offer(file_name, &blob)
    }

    fn fail(what: &str) -> String {
        format!("the browser refused to {what}")
    }

    fn offer(file_name: &str, blob: &web_sys::Blob) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let url = web_sys::Url::create_object_url_with_blob(blob)
            .map_err(|_| fail("make a link to the file"))?;
        let link: web_sys::HtmlAnchorElement = match document
            .query_selector("[data-testid=export-link]")
            .ok()
            .flatten()
        {
            Some(el) => el.dyn_into().map_err(|_| fail("find the link"))?,
            None => {
                let el: web_sys::HtmlAnchorElement = document
                    .create_element("a")
                    .map_err(|_| fail("make a link"))?
                    .dyn_into()
                    .map_err(|_| fail("make a link"))?;
                let _ = el.set_attribute("data-testid", "export-link");
                let _ = el.set_attribute("hidden", "");
                let _ = el.set_attribute("aria-hidden", "true");
                document
                    .body()
                    .ok_or("no body")?
                    .append_child(&el)
                    .map_err(|_| fail("add a link"))?;
                el
            }
        };
        link.set_href(&url);
        link.set_download(file_name);
        link.click();
        if let Some(old) = LAST_URL.with(|u| u.borrow_mut().replace(url)) {
            let _ = web_sys::Url::revoke_object_url(&old);
        }
        Ok(())
    }

    /// The text of the file chosen in `input` (the first one), if any.
    pub async fn read_chosen_file(
        input: &web_sys::HtmlInputElement,
    ) -> Option<Result<String, String>> {
        let file = input.files()?.get(0)?;
        let text = JsFuture::from(file.text()).await;
        Some(
            text.ok()
                .and_then(|v| v.as_string())
                .ok_or_else(|| "the browser could not read it".to_owned()),
        )
    }

    /// The page's address without its fragment.
    pub fn address_without_fragment() -> Option<String> {
        let location = web_sys::window()?.location();
        let href = location.href().ok()?;
        Some(href.split('#').next().unwrap_or(&href).to_owned())
    }

    pub fn current_hash() -> String {
        web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default()
    }

    /// Drops the fragment from the address bar without reloading or adding a history entry.
    pub fn remove_fragment() {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let url = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
        }
    }

    /// Copies `text`; `Err` when the browser offers no clipboard here (then the field beside
    /// the button lets the reader copy it by hand).
    pub async fn copy_to_clipboard(text: &str) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let navigator = window.navigator();
        let has = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
            .map(|c| !c.is_undefined() && !c.is_null())
            .unwrap_or(false);
        if !has {
            return Err("this browser offers no clipboard here".to_owned());
        }
        JsFuture::from(navigator.clipboard().write_text(text))
            .await
            .map(|_| ())
            .map_err(|_| "the browser did not allow copying".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WireGenerationSettings {
        WireGenerationSettings {
            temperature: 0.5,
            top_p: 0.95,
            frequency_penalty: 1.0,
            echo_penalty: engine::generation::DEFAULT_ECHO_PENALTY,
            seed: 16,
            max_new_tokens: 128,
        }
    }

    fn conversation() -> Conversation {
        let cap = CapSetting {
            first_layer: 20,
            last_layer: 25,
            percentile: 75.0,
        };
        let scored = |id: u64, text: &str, a: f32, t: f32| Reply {
            id,
            content: text.into(),
            streaming: false,
            meta: Some("5 tokens · stop".into()),
            error: None,
            score: Some(WireScore {
                activations: a,
                text: t,
                cap_margin: None,
                persona_activations: None,
                persona_text: None,
            }),
            tokens: None,
        };
        let mut capped = scored(13, "I am an AI assistant.", 21.5, 0.25);
        capped.score.as_mut().expect("score").cap_margin = Some(1e-6);
        Conversation {
            turns: vec![
                Turn {
                    id: 10,
                    user: "Hello! <b>x</b> \"quoted\" é 🙂".into(),
                    default: scored(11, "Hi there.\nNew line.", 14.25, 14.25),
                    capped: Some(capped),
                    capping: Some(cap),
                    steering: None,
                },
                Turn {
                    id: 20,
                    user: "Be a pirate.".into(),
                    default: scored(21, "Arr!", -3.5, -3.5),
                    capped: Some(Reply::not_answered(22, "not answered: stopped")),
                    capping: Some(cap),
                    steering: None,
                },
                Turn {
                    id: 30,
                    user: "Still there?".into(),
                    default: Reply::streaming(31),
                    capped: None,
                    capping: None,
                    steering: None,
                },
            ],
        }
    }

    fn shared(c: &Conversation) -> SharedConversation {
        SharedConversation::from_snapshot(Snapshot {
            model: SharedModel {
                name: "SmolLM2".into(),
                url: "models/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            },
            axis: Some(SharedAxis {
                model_id: "HuggingFaceTB/SmolLM2-135M-Instruct".into(),
                monitor_layer: 21,
            }),
            system_prompt: "You are Max.",
            settings: &settings(),
            capping: &CappingChoice::default(),
            chart_view: ChartView::Activations,
            conversation: c,
        })
    }

    /// The conversation without its ids (they are renumbered on import).
    fn without_ids(c: &Conversation) -> Vec<(String, Reply, Option<Reply>)> {
        let strip = |r: &Reply| Reply { id: 0, ..r.clone() };
        c.turns
            .iter()
            .map(|t| {
                (
                    t.user.clone(),
                    strip(&t.default),
                    t.capped.as_ref().map(strip),
                )
            })
            .collect()
    }

    #[test]
    fn the_file_round_trips_messages_scores_and_settings() {
        let c = conversation();
        let s = shared(&c);
        let back = from_json(&s.to_json_pretty()).expect("decode");
        assert_eq!(back, s);
        assert_eq!(back.system_prompt, "You are Max.");
        assert_eq!(back.chart_view, ChartView::Activations);
        assert_eq!(back.axis.as_ref().map(|a| a.monitor_layer), Some(21));
        let restored = back.to_conversation(1);
        // The answer that was still streaming is marked, everything else is as it was.
        let mut expected = c.clone();
        expected.turns[2].default.streaming = false;
        expected.turns[2].default.error =
            Some("interrupted (still being written when shared)".into());
        assert_eq!(without_ids(&restored), without_ids(&expected));
        assert_eq!(
            crate::chart::points(&restored, ChartView::Text).len(),
            crate::chart::points(&c, ChartView::Text).len()
        );
        assert_eq!(s.scored_answers(), 3);
    }

    #[test]
    fn steering_heatmap_and_persona_data_travel_and_nan_stays_out() {
        let mut c = conversation();
        c.turns[0].steering = Some(1.5);
        let tokens = WireTokenScores {
            pieces: vec!["Hi".into(), " there".into()],
            activations: vec![1.0, 2.0],
            text: vec![0.5, -0.25],
        };
        c.turns[0].default.tokens = Some(tokens.clone());
        c.turns[1].default.tokens = Some(WireTokenScores {
            text: vec![f32::NAN],
            ..tokens.clone()
        });
        let score = c.turns[0].default.score.as_mut().expect("score");
        score.persona_text = Some([0.5, -1.0]);
        score.persona_activations = Some([f32::INFINITY, 0.0]);
        let back = from_json(&shared(&c).to_json_pretty())
            .expect("parse")
            .to_conversation(1);
        assert_eq!(back.turns[0].steering, Some(1.5));
        assert_eq!(back.turns[1].steering, None);
        assert_eq!(back.turns[0].default.tokens, Some(tokens));
        assert_eq!(
            back.turns[1].default.tokens, None,
            "a NaN token value: left out"
        );
        let score = back.turns[0].default.score.expect("score");
        assert_eq!(score.persona_text, Some([0.5, -1.0]));
        assert_eq!(score.persona_activations, None);
    }

    #[test]
    fn imported_ids_are_fresh_and_unique() {
        let restored = shared(&conversation()).to_conversation(100);
        let mut ids: Vec<u64> = restored
            .turns
            .iter()
            .flat_map(|t| {
                [
                    Some(t.id),
                    Some(t.default.id),
                    t.capped.as_ref().map(|r| r.id),
                ]
            })
            .flatten()
            .collect();
        assert!(ids.iter().all(|&i| i >= 100));
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(restored.turns.iter().all(|t| !t.default.streaming));
    }

    #[test]
    fn the_link_round_trips_and_is_compressed() {
        let s = shared(&conversation());
        let fragment = s.to_fragment();
        let hash = format!("#{fragment}");
        let payload = fragment_payload(&hash).expect("payload");
        assert!(payload.starts_with('z'));
        assert!(
            payload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(from_fragment(payload).expect("decode"), s);
        // The plain codec reads too.
        let plain = format!("j{}", base64url_encode(s.to_json_pretty().as_bytes()));
        assert_eq!(from_fragment(&plain).expect("plain"), s);
        // A long, repetitive conversation packs well below its JSON size.
        let mut long = conversation();
        for _ in 0..6 {
            long.turns.extend(long.turns.clone());
        }
        let s = shared(&long);
        let json = serde_json::to_string(&s).expect("json");
        let link = s.to_fragment();
        assert!(
            link.len() * 4 < json.len(),
            "{} vs {}",
            link.len(),
            json.len()
        );
        assert_eq!(fragment_payload("#other=1"), None);
        assert_eq!(fragment_payload(""), None);
    }

    #[test]
    fn wrong_newer_or_damaged_inputs_say_why() {
        let s = shared(&conversation());
        let err = |text: &str| from_json(text).expect_err(text);
        assert!(err("").contains("not valid JSON"));
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[]").contains("not an Assistant Axis conversation"));
        assert!(err(r#"{"version":1}"#).contains("\"format\" is missing"));
        assert!(err(r#"{"format":"other","version":1}"#).contains("\"other\""));
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["version"] = 2.into();
        let e = err(&v.to_string());
        assert!(
            e.contains("newer version") && e.contains("version 2"),
            "{e}"
        );
        v["version"] = 0.into();
        assert!(err(&v.to_string()).contains("format version is 0"));
        v["version"] = "1".into();
        assert!(err(&v.to_string()).contains("format version is missing"));
        v["version"] = 1.into();
        v["turns"] = serde_json::json!([{"user": 3}]);
        assert!(err(&v.to_string()).contains("damaged"));
        // Hand-edited settings are clamped like stored ones.
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["settings"]["temperature"] = 50.0.into();
        v["settings"]["max_new_tokens"] = 0.into();
        let back = from_json(&v.to_string()).expect("clamped");
        assert_eq!(back.settings.temperature, 2.0);
        assert_eq!(back.settings.max_new_tokens, 1);
    }

    #[test]
    fn imports_are_bounded_before_the_page_renders_them() {
        let s = shared(&conversation());
        // A small link that unpacks into megabytes (a "zip bomb") is refused while unpacking.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 3 << 20], 10);
        let payload = format!("z{}", base64url_encode(&bomb));
        assert!(payload.len() < 20_000, "{} characters", payload.len());
        let e = from_fragment(&payload).expect_err("bomb");
        assert!(e.contains("unpacks to more than 1 MB"), "{e}");
        // More turns than the page can show.
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        let turn = v["turns"][0].clone();
        v["turns"] = serde_json::Value::Array(vec![turn; MAX_TURNS + 1]);
        let e = from_json(&v.to_string()).expect_err("turns");
        assert!(e.contains("at most 400"), "{e}");
        // Scores that are not finite f32s (1e39 overflows) or absurdly large.
        for bad in [1e39, -1e7] {
            let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
            v["turns"][0]["default"]["score"]["text"] = bad.into();
            let e = from_json(&v.to_string()).expect_err("score");
            assert!(e.contains("turn 1 has a score of"), "{e}");
        }
        let mut v: serde_json::Value = serde_json::to_value(&s).expect("value");
        v["turns"][0]["default"]["tokens"] = serde_json::json!({
            "pieces": ["a"], "activations": [1e39], "text": [0.0]
        });
        assert!(from_json(&v.to_string()).is_err());
        // The conversation itself still opens.
        assert!(from_json(&serde_json::to_string(&s).expect("json")).is_ok());
    }

    #[test]
    fn damaged_links_are_errors_not_panics() {
        let good = shared(&conversation()).to_fragment();
        let payload = fragment_payload(&good).expect("payload");
        for bad in [
            "",
            "z",
            "z!!!",
            "zAAAA",
            "q0000",
            "j",
            "jAA",
            "jA",
            &payload[..payload.len() / 2],
            &payload[..payload.len() - 3],
        ] {
            let e = from_fragment(bad).expect_err(bad);
            assert!(!e.is_empty());
        }
        assert!(
            from_fragment("x123")
                .expect_err("codec")
                .contains("newer version")
        );
        assert!(
            from_fragment("z%%%")
                .expect_err("chars")
                .contains("damaged")
        );
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, enc) in cases {
            assert_eq!(base64url_encode(raw), enc);
            assert_eq!(base64url_decode(enc).expect("decode"), raw);
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8=").expect("padded"), [0xfb, 0xff]);
        assert_eq!(base64url_decode("+/8").expect("std alphabet"), [0xfb, 0xff]);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).expect("all"), all);
        assert!(base64url_decode("Z").is_err());
        assert!(base64url_decode("Zm9v.").is_err());
    }

    #[test]
    fn non_finite_scores_are_left_out_rather_than_breaking_the_file() {
        let mut c = conversation();
        c.turns[0].default.score.as_mut().expect("score").text = f32::NAN;
        c.turns[0]
            .capped
            .as_mut()
            .and_then(|r| r.score.as_mut())
            .expect("score")
            .cap_margin = Some(f32::INFINITY);
        let s = shared(&c);
        let back = from_json(&s.to_json_pretty()).expect("decode");
        assert_eq!(back.turns[0].default.score, None);
        assert_eq!(
            back.turns[0]
                .capped
                .as_ref()
                .and_then(|r| r.score)
                .and_then(|s| s.cap_margin),
            None
        );
    }
}
