//! The sweep's held-out persona prompts: roles and questions that the axis was not built from
//! (named in its file's metadata), in every way people set up a persona — the lab's instructed
//! system prompt, the same persona described without any instruction, "Embody …", the persona
//! written into the user's own message, and a two-turn conversation that sets the persona up in
//! the first message and asks who the model is in the second.

use engine::chat::ChatMessage;

use super::PersonaPrompt;
use crate::data::{LabData, Question};
use crate::prompt_style::Style;

/// One role's prompts, in this order: two instructed, one descriptive, one "Embody", two in
/// the user's message, two over two turns — 8 per role, so 39 held-out roles give 312.
pub const RECIPE: [Style; 8] = [
    Style::Instructed,
    Style::Instructed,
    Style::Descriptive,
    Style::Embody,
    Style::UserTurn,
    Style::UserTurn,
    Style::MultiTurn,
    Style::MultiTurn,
];

/// Two disjoint draws from the same held-out roles and questions: the sweep chooses on
/// `Selection`; `Confirmation` re-measures the chosen setting against no cap on prompts the
/// choice never saw (other role prompt × question pairs, other seeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Selection,
    Confirmation,
}

impl Part {
    /// Where this part starts in the question rotation, its role prompts' offset and its
    /// seeds' base. The offsets keep a role's (prompt, question) pairs of the two parts apart
    /// as long as a role asks fewer than half the questions.
    fn offsets(self, n_questions: usize) -> (usize, usize, u64) {
        match self {
            Part::Selection => (0, 0, 31_000),
            Part::Confirmation => (n_questions / 2, 1, 61_000),
        }
    }
}

/// The held-out set: [`RECIPE`] for each of `roles` (indices into `data.roles`), questions
/// taken in turn from `questions`. A multi-turn prompt asks, after its first answer, one of
/// the held-out *identity* questions (any held-out question when there is none).
pub fn held_out(
    data: &LabData,
    roles: &[usize],
    questions: &[&Question],
    part: Part,
) -> Vec<PersonaPrompt> {
    if questions.is_empty() {
        return Vec::new();
    }
    let identity: Vec<&Question> = questions
        .iter()
        .copied()
        .filter(|q| q.category == "identity")
        .collect();
    let follow_ups = if identity.is_empty() {
        questions
    } else {
        &identity[..]
    };
    let (q_offset, p_offset, seed_base) = part.offsets(questions.len());
    let mut out = Vec::new();
    for (i, &r) in roles.iter().enumerate() {
        let role = &data.roles[r];
        if role.system_prompts.is_empty() {
            continue;
        }
        for (j, &style) in RECIPE.iter().enumerate() {
            // Each role starts its questions where the previous one stopped, so all questions
            // are asked about equally often.
            let k = i * RECIPE.len() + j;
            let question = questions[(k + q_offset) % questions.len()];
            let n_prompts = role.system_prompts.len();
            // The first of the role's prompts (from this part's offset) that has the style;
            // the instructed prompt when none has (a prompt that is all instruction).
            let messages = (0..n_prompts)
                .find_map(|t| {
                    let prompt = &role.system_prompts[(j + p_offset + t) % n_prompts];
                    style.messages(prompt, &question.text)
                })
                .unwrap_or_else(|| {
                    crate::rollout::messages_for(&role.system_prompts[0], &question.text)
                });
            let follow_up = (style == Style::MultiTurn)
                .then(|| follow_ups[(k + q_offset) % follow_ups.len()].text.clone());
            out.push(PersonaPrompt {
                role: r,
                style,
                messages,
                follow_up,
                seed: seed_base + k as u64,
            });
        }
    }
    out
}

/// The conversation whose answer is judged: for a multi-turn prompt, its first turn, the
/// model's `first_answer` and the follow-up question.
pub fn judged_conversation(p: &PersonaPrompt, first_answer: Option<&str>) -> Vec<ChatMessage> {
    let mut messages = p.messages.clone();
    if let (Some(follow_up), Some(answer)) = (&p.follow_up, first_answer) {
        messages.push(ChatMessage::assistant(answer));
        messages.push(ChatMessage::user(follow_up));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::default_data_dir;

    #[test]
    fn the_set_covers_every_style_and_the_two_parts_do_not_share_a_prompt() {
        let data = LabData::load(&default_data_dir()).expect("shipped data");
        let roles: Vec<usize> = (0..39).collect();
        let questions: Vec<&Question> = data.questions.iter().take(24).collect();
        let a = held_out(&data, &roles, &questions, Part::Selection);
        let b = held_out(&data, &roles, &questions, Part::Confirmation);
        assert_eq!(a.len(), 39 * 8);
        assert!(a.len() >= 300, "the issue asks for at least 300");
        for style in RECIPE {
            assert!(a.iter().any(|p| p.style == style), "{style:?} missing");
        }
        // Descriptive, embody and user-turn prompts carry no instruction about being an AI.
        for p in a.iter().filter(|p| p.style != Style::Instructed) {
            let text: String = p
                .messages
                .iter()
                .map(|m| m.content.to_lowercase())
                .collect();
            assert!(!text.contains(" an ai"), "{text}");
        }
        // User-turn prompts have no system message; multi-turn ones ask a follow-up.
        for p in &a {
            let has_system = p.messages.iter().any(|m| m.role == "system");
            match p.style {
                Style::UserTurn | Style::MultiTurn => assert!(!has_system),
                _ => assert!(has_system),
            }
            assert_eq!(p.follow_up.is_some(), p.style == Style::MultiTurn);
        }
        let key = |p: &PersonaPrompt| format!("{:?}", p.messages);
        let selection: std::collections::HashSet<String> = a.iter().map(key).collect();
        let shared = b.iter().filter(|p| selection.contains(&key(p))).count();
        assert_eq!(shared, 0, "the confirmation part repeats selection prompts");
        let seeds: std::collections::HashSet<u64> = a.iter().map(|p| p.seed).collect();
        assert!(b.iter().all(|p| !seeds.contains(&p.seed)));
    }

    #[test]
    fn a_multi_turn_prompt_is_judged_on_its_second_answer() {
        let p = PersonaPrompt {
            role: 0,
            style: Style::MultiTurn,
            messages: vec![ChatMessage::user("You are a dragon.\n\nWhat do you eat?")],
            follow_up: Some("Who are you?".to_owned()),
            seed: 1,
        };
        let m = judged_conversation(&p, Some("Gold, mostly."));
        let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        assert_eq!(m[2].content, "Who are you?");
        assert_eq!(judged_conversation(&p, None).len(), 1);
    }
}
