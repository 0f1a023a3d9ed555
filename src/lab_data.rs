//! The lab's data, embedded: role catalogue (names, system prompts), shared questions and the
//! default Assistant's neutral system prompts. The persona map uses the roles' prompts; the
//! browser's quick axis build asks the questions (`worker::quick_axis`).

use serde::Deserialize;

const ROLES_JSONL: &str = include_str!("../crates/axis-lab/data/roles.jsonl");
const QUESTIONS_JSONL: &str = include_str!("../crates/axis-lab/data/questions.jsonl");
const DEFAULT_PROMPTS_JSON: &str = include_str!("../crates/axis-lab/data/default_prompts.json");
/// The default prompt that names the model; the quick build puts the loaded model's name in.
const NAMED_PROMPT: &str = "You are SmolLM2.";

#[derive(Debug, Clone, Deserialize)]
pub struct LabRole {
    pub id: String,
    pub name: String,
    pub category: String,
    pub system_prompts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LabQuestion {
    pub category: String,
    pub text: String,
}

#[derive(Deserialize)]
struct DefaultPrompts {
    prompts: Vec<String>,
}

fn jsonl<T: for<'de> Deserialize<'de>>(text: &str) -> Vec<T> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn roles() -> Vec<LabRole> {
    jsonl(ROLES_JSONL)
}

pub fn questions() -> Vec<LabQuestion> {
    jsonl(QUESTIONS_JSONL)
}

/// The default Assistant's system prompts ("" = none), the one naming SmolLM2 renamed to
/// `model_name`.
pub fn default_prompts(model_name: &str) -> Vec<String> {
    serde_json::from_str::<DefaultPrompts>(DEFAULT_PROMPTS_JSON)
        .map(|d| d.prompts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            if p == NAMED_PROMPT {
                format!("You are {model_name}.")
            } else {
                p
            }
        })
        .collect()
}

/// Every item of `items`, visiting their categories in turn (first-seen category order), so
/// that a short prefix covers as many categories as possible.
pub fn round_robin<T: Clone>(items: &[T], category: impl Fn(&T) -> &str) -> Vec<T> {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for item in items {
        let c = category(item);
        match groups.iter_mut().find(|(name, _)| name == c) {
            Some((_, g)) => g.push(item.clone()),
            None => groups.push((c.to_owned(), vec![item.clone()])),
        }
    }
    let longest = groups.iter().map(|(_, g)| g.len()).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| groups.iter().filter_map(move |(_, g)| g.get(i).cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_parses_completely() {
        let lines = |t: &str| t.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(roles().len(), lines(ROLES_JSONL));
        assert_eq!(questions().len(), lines(QUESTIONS_JSONL));
        assert!(roles().len() > 100 && questions().len() > 100);
        let prompts = default_prompts("TinyModel");
        assert_eq!(prompts.len(), 5);
        assert!(prompts.contains(&"You are TinyModel.".to_owned()));
        assert!(prompts.contains(&String::new()));
    }

    #[test]
    fn round_robin_visits_every_category_before_repeating_one() {
        let items = ["a1", "a2", "a3", "b1", "c1", "c2"];
        let out = round_robin(&items, |s| &s[..1]);
        assert_eq!(out, ["a1", "b1", "c1", "a2", "c2", "a3"]);
    }
}
