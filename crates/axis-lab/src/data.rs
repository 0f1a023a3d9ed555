//! The lab's inputs (see `data/README.md`): roles, shared questions, default prompts, capability
//! checks, drift conversations and the judge's phrase lists.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub category: String,
    pub system_prompts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: String,
    pub category: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CapabilityCheck {
    pub question: String,
    pub accept: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DriftConversation {
    pub id: String,
    pub title: String,
    pub category: String,
    pub user_turns: Vec<String>,
}

/// The judge's phrase lists (defined in the engine, which the page's identity tag also uses).
pub use engine::speaker::{IdentityMarkers, RoleEvidenceRules};

#[derive(Debug, Deserialize)]
struct DefaultPromptsFile {
    prompts: Vec<String>,
}

/// Everything under one data directory.
#[derive(Debug, Clone)]
pub struct LabData {
    pub roles: Vec<Role>,
    pub questions: Vec<Question>,
    pub default_prompts: Vec<String>,
    pub capability: Vec<CapabilityCheck>,
    pub drift: Vec<DriftConversation>,
    pub markers: IdentityMarkers,
}

/// The data directory shipped with this crate.
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

impl LabData {
    pub fn load(dir: &Path) -> Result<LabData> {
        let data = LabData {
            roles: read_jsonl(&dir.join("roles.jsonl"))?,
            questions: read_jsonl(&dir.join("questions.jsonl"))?,
            default_prompts: read_json::<DefaultPromptsFile>(&dir.join("default_prompts.json"))?
                .prompts,
            capability: read_jsonl(&dir.join("capability.jsonl"))?,
            drift: read_jsonl(&dir.join("drift_conversations.jsonl"))?,
            markers: read_json(&dir.join("identity_markers.json"))?,
        };
        if data.roles.is_empty() || data.questions.is_empty() || data.default_prompts.is_empty() {
            bail!(
                "{}: roles, questions and default prompts must not be empty",
                dir.display()
            );
        }
        if let Some(r) = data.roles.iter().find(|r| r.system_prompts.is_empty()) {
            bail!("role `{}` has no system prompts", r.id);
        }
        Ok(data)
    }
}

pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_data_loads_with_the_documented_sizes() {
        let data = LabData::load(&default_data_dir()).expect("shipped data loads");
        assert!(data.roles.len() >= 120, "{} roles", data.roles.len());
        assert!(
            data.questions.len() >= 80,
            "{} questions",
            data.questions.len()
        );
        assert_eq!(data.default_prompts.len(), 5);
        assert!(data.roles.iter().all(|r| r.system_prompts.len() == 5));
        assert!(data.default_prompts.contains(&String::new()));
    }
}
