//! A conversation to share in the tests of [`format`](super::format) and [`link`](super::link).

use engine::axis::CapSetting;

use super::format::{SharedAxis, SharedConversation, SharedModel, Snapshot};
use crate::chart::ChartView;
use crate::conversation::AnswerScore;
use crate::conversation::{Conversation, Reply, Turn};
use crate::worker::protocol::WireGenerationSettings;
use engine::axis::CappingChoice;

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

pub fn conversation() -> Conversation {
    let cap = CapSetting {
        first_layer: 20,
        last_layer: 25,
        percentile: engine::axis::Percentile::whole(75),
    };
    let scored = |id: u64, text: &str, a: f32, t: f32| Reply {
        id,
        content: text.into(),
        streaming: false,
        meta: Some("5 tokens · stop".into()),
        error: None,
        score: Some(AnswerScore {
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

pub fn shared(c: &Conversation) -> SharedConversation {
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
