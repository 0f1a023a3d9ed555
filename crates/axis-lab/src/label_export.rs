//! Every stored answer of a build's checkpoint with the conversation it answered, as a person
//! labelling it against `data/RUBRIC.md` needs to read it (`scripts/label_sample.py` draws its
//! sample from this). The conversation is rebuilt with [`Plan::messages`], the function the
//! rollouts were generated with, so an answer whose persona was put in the user's own message
//! (`--mixed-styles`) is shown with that message.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::data::{LabData, read_jsonl};
use crate::plan::{Plan, Speaker};
use crate::store::StoredAnswer;

/// One answer as a labeller reads it.
#[derive(Debug, Serialize)]
pub struct AnswerToLabel {
    /// `<prefix>job<N>`: the prefix keeps answers of different builds apart in one labels file.
    pub id: String,
    pub kind: &'static str,
    /// The role's id; `None` for a default-prompt answer.
    pub role: Option<String>,
    /// How the role's prompt was put (`None` for a default-prompt answer).
    pub style: Option<&'static str>,
    /// The system message ("" when there was none).
    pub system_prompt: String,
    /// The user's message as the model saw it (the question, or a persona and the question).
    pub user_message: String,
    pub question: String,
    pub answer: String,
}

/// The answers of the checkpoint in `work`, in plan order.
pub fn answers(data: &LabData, work: &Path, prefix: &str) -> Result<Vec<AnswerToLabel>> {
    let plan_path = work.join("plan.json");
    let plan: Plan = serde_json::from_str(
        &std::fs::read_to_string(&plan_path)
            .with_context(|| format!("reading {}", plan_path.display()))?,
    )
    .with_context(|| format!("{} is not a build's plan", plan_path.display()))?;
    let stored: Vec<StoredAnswer> = read_jsonl(&work.join("rollouts.jsonl"))?;
    let mut out = Vec::with_capacity(stored.len());
    for a in stored {
        let Some(job) = plan.jobs.get(a.job) else {
            bail!("answer of job {} is not in the plan", a.job);
        };
        let Some(question) = data.questions.get(job.question) else {
            bail!(
                "job {} asks question {}, which the data lacks",
                a.job,
                job.question
            );
        };
        // A plan made with other data names roles or prompts this data lacks: say so rather
        // than index past them.
        let known = match job.speaker {
            Speaker::Default { prompt } => prompt < data.default_prompts.len(),
            Speaker::Role { role, prompt, .. } => data
                .roles
                .get(role)
                .is_some_and(|r| prompt < r.system_prompts.len()),
        };
        if !known {
            bail!(
                "job {} names a prompt the lab's data does not have (a plan made with other data?)",
                a.job
            );
        }
        let messages = Plan::messages(data, &job.speaker, &question.text);
        let content = |role: &str| {
            messages
                .iter()
                .filter(|m| m.role == role)
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        let (kind, role, style) = match job.speaker {
            Speaker::Default { .. } => ("default", None, None),
            Speaker::Role { role, style, .. } => (
                "role",
                data.roles.get(role).map(|r| r.id.clone()),
                Some(style.name()),
            ),
        };
        out.push(AnswerToLabel {
            id: format!("{prefix}job{}", a.job),
            kind,
            role,
            style,
            system_prompt: content("system"),
            user_message: content("user"),
            question: question.text.clone(),
            answer: a.text,
        });
    }
    Ok(out)
}

/// The `answers-to-label` command: writes [`answers`] as JSON Lines.
pub fn run(data_dir: &Path, work: &Path, prefix: &str, out: &Path) -> Result<()> {
    let data = LabData::load(data_dir)?;
    let rows = answers(&data, work, prefix)?;
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    for r in &rows {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    println!("wrote {} answers to {}", rows.len(), out.display());
    Ok(())
}
