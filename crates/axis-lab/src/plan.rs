//! Which answers to generate: a seeded, reproducible sample of (system prompt, question) pairs.
//!
//! The full grid (196 roles × 5 prompts × 122 questions) is far beyond a 90-minute CPU budget,
//! so every role answers a different random sample of the training questions, cycling through
//! its five system prompts; the default Assistant answers a sample under each of its five
//! neutral prompts. Held-out roles and questions get a smaller sample that is only used to
//! validate the axis computed from the training side.

use engine::chat::ChatMessage;
use serde::{Deserialize, Serialize};

use crate::data::LabData;
use crate::prompt_style::Style;
use crate::rollout::messages_for;
use crate::split::{sample, train_held_out};

/// Whose answer a job produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Speaker {
    Default {
        prompt: usize,
    },
    Role {
        role: usize,
        prompt: usize,
        /// How the prompt is put (plans written before styles were mixed: as written).
        #[serde(default)]
        style: Style,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    HeldOut,
}

/// One answer to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub speaker: Speaker,
    pub question: usize,
    pub split: Split,
    pub seed: u64,
}

/// A count where "as many as there are" is `usize::MAX`, written as `"all"` in reports and
/// plans (not 18446744073709551615); reads either form.
mod count_or_all {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
        if *n == usize::MAX {
            s.serialize_str("all")
        } else {
            s.serialize_u64(*n as u64)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Word(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        match Count::deserialize(d)? {
            Count::Number(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Count::Word(w) if w == "all" => Ok(usize::MAX),
            Count::Word(w) => Err(serde::de::Error::custom(format!(
                "expected a count or \"all\", found {w:?}"
            ))),
        }
    }
}

/// How much to sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Training roles used (all when larger than the training split).
    #[serde(with = "count_or_all")]
    pub train_roles: usize,
    pub questions_per_role: usize,
    /// Training questions asked under each default prompt.
    pub default_questions_per_prompt: usize,
    #[serde(with = "count_or_all")]
    pub held_out_roles: usize,
    pub held_out_questions_per_role: usize,
    pub held_out_default_questions_per_prompt: usize,
    pub held_out_fraction: f64,
    /// Held-out role prompts answered under every capping candidate.
    pub sweep_persona_prompts: usize,
    /// Capability questions asked under every capping candidate.
    pub capability_questions: usize,
    /// A 2-candidate sweep instead of the full grid.
    pub small_sweep: bool,
    /// Identity questions asked at every steering strength.
    pub steering_questions: usize,
    /// Role prompts in four styles, in turn (as written, without the "never say you are an
    /// AI" instruction, "Embody …", in the user's message), not only as written; plans and
    /// reports written before read as `false`.
    #[serde(default)]
    pub mixed_styles: bool,
    /// Drift conversations replayed, and user turns replayed from each.
    #[serde(with = "count_or_all")]
    pub drift_conversations: usize,
    #[serde(with = "count_or_all")]
    pub drift_turns: usize,
}

impl Budget {
    /// Fits the 90-minute budget on a 2-core machine (see the README's measurements).
    pub fn full() -> Budget {
        Budget {
            train_roles: usize::MAX,
            questions_per_role: 12,
            default_questions_per_prompt: 40,
            held_out_roles: usize::MAX,
            held_out_questions_per_role: 4,
            held_out_default_questions_per_prompt: 12,
            held_out_fraction: 0.2,
            sweep_persona_prompts: 64,
            capability_questions: 50,
            small_sweep: false,
            mixed_styles: false,
            steering_questions: 12,
            drift_conversations: usize::MAX,
            drift_turns: usize::MAX,
        }
    }

    /// For iterating on the pipeline (minutes, not an hour).
    pub fn quick() -> Budget {
        Budget {
            train_roles: 40,
            questions_per_role: 3,
            default_questions_per_prompt: 8,
            held_out_roles: 12,
            held_out_questions_per_role: 2,
            held_out_default_questions_per_prompt: 3,
            held_out_fraction: 0.2,
            sweep_persona_prompts: 8,
            capability_questions: 16,
            small_sweep: true,
            mixed_styles: false,
            steering_questions: 4,
            drift_conversations: 4,
            drift_turns: 3,
        }
    }

    /// The smallest run that still exercises every stage (the end-to-end test).
    #[cfg(test)]
    pub fn tiny() -> Budget {
        Budget {
            train_roles: 4,
            questions_per_role: 2,
            default_questions_per_prompt: 2,
            held_out_roles: 2,
            held_out_questions_per_role: 1,
            held_out_default_questions_per_prompt: 1,
            held_out_fraction: 0.2,
            sweep_persona_prompts: 2,
            capability_questions: 2,
            small_sweep: true,
            mixed_styles: false,
            steering_questions: 1,
            drift_conversations: 2,
            drift_turns: 2,
        }
    }
}

/// The sampled jobs and the splits they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub seed: u64,
    pub budget: Budget,
    pub train_roles: Vec<usize>,
    pub held_out_roles: Vec<usize>,
    pub train_questions: Vec<usize>,
    pub held_out_questions: Vec<usize>,
    pub jobs: Vec<Job>,
}

/// Mixes a seed with a label so that every draw gets its own stream.
fn derive_seed(seed: u64, label: u64) -> u64 {
    let mut z = seed ^ label.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Jobs in the making; every job gets its own seed from its position.
struct JobList {
    seed: u64,
    /// Role prompts in the four styles in turn ([`Budget::mixed_styles`]).
    mixed_styles: bool,
    jobs: Vec<Job>,
}

impl JobList {
    fn push(&mut self, speaker: Speaker, question: usize, split: Split) {
        let seed = derive_seed(self.seed, 1000 + self.jobs.len() as u64);
        self.jobs.push(Job {
            speaker,
            question,
            split,
            seed,
        });
    }

    /// `per_prompt` questions from `pool` under each default prompt (samples seeded by
    /// `label + prompt`).
    fn defaults(
        &mut self,
        n_prompts: usize,
        pool: &[usize],
        per_prompt: usize,
        label: u64,
        split: Split,
    ) {
        for p in 0..n_prompts {
            for q in sample(pool, per_prompt, derive_seed(self.seed, label + p as u64)) {
                self.push(Speaker::Default { prompt: p }, q, split);
            }
        }
    }

    /// `per_role` questions from `pool` for each role, cycling through its system prompts
    /// (and with `mixed_styles` through the four styles, where the prompt has that style).
    fn roles(
        &mut self,
        data: &LabData,
        roles: &[usize],
        pool: &[usize],
        per_role: usize,
        label: u64,
        split: Split,
    ) {
        for &r in roles {
            let n = data.roles[r].system_prompts.len();
            for (j, q) in sample(pool, per_role, derive_seed(self.seed, label + r as u64))
                .into_iter()
                .enumerate()
            {
                let prompt = (j + r) % n;
                let style = if self.mixed_styles {
                    let s = Style::ROLE_STYLES[(j + r) % Style::ROLE_STYLES.len()];
                    let text = &data.roles[r].system_prompts[prompt];
                    if s.messages(text, "").is_some() {
                        s
                    } else {
                        Style::Instructed
                    }
                } else {
                    Style::Instructed
                };
                self.push(
                    Speaker::Role {
                        role: r,
                        prompt,
                        style,
                    },
                    q,
                    split,
                );
            }
        }
    }
}

impl Plan {
    pub fn new(data: &LabData, budget: Budget, seed: u64) -> Plan {
        let (mut train_roles, mut held_out_roles) = train_held_out(
            data.roles.len(),
            budget.held_out_fraction,
            derive_seed(seed, 1),
        );
        let (train_questions, held_out_questions) = train_held_out(
            data.questions.len(),
            budget.held_out_fraction,
            derive_seed(seed, 2),
        );
        // Subsets of roles keep their category mix: a seeded sample, not the first n.
        train_roles = sample(&train_roles, budget.train_roles, derive_seed(seed, 3));
        train_roles.sort_unstable();
        held_out_roles = sample(&held_out_roles, budget.held_out_roles, derive_seed(seed, 4));
        held_out_roles.sort_unstable();

        let mut jobs = JobList {
            seed,
            mixed_styles: budget.mixed_styles,
            jobs: Vec::new(),
        };
        let n_prompts = data.default_prompts.len();
        jobs.defaults(
            n_prompts,
            &train_questions,
            budget.default_questions_per_prompt,
            10_000,
            Split::Train,
        );
        jobs.roles(
            data,
            &train_roles,
            &train_questions,
            budget.questions_per_role,
            20_000,
            Split::Train,
        );
        jobs.defaults(
            n_prompts,
            &held_out_questions,
            budget.held_out_default_questions_per_prompt,
            30_000,
            Split::HeldOut,
        );
        jobs.roles(
            data,
            &held_out_roles,
            &held_out_questions,
            budget.held_out_questions_per_role,
            40_000,
            Split::HeldOut,
        );
        let jobs = jobs.jobs;
        Plan {
            seed,
            budget,
            train_roles,
            held_out_roles,
            train_questions,
            held_out_questions,
            jobs,
        }
    }

    /// The prompt of a job as the lab wrote it ("" = no system message); [`Plan::messages`]
    /// puts it in the job's style.
    pub fn system_prompt<'d>(data: &'d LabData, speaker: &Speaker) -> &'d str {
        match *speaker {
            Speaker::Default { prompt } => &data.default_prompts[prompt],
            Speaker::Role { role, prompt, .. } => &data.roles[role].system_prompts[prompt],
        }
    }

    /// The conversation a job answers: its prompt in its style, then the question.
    pub fn messages(data: &LabData, speaker: &Speaker, question: &str) -> Vec<ChatMessage> {
        let prompt = Plan::system_prompt(data, speaker);
        match *speaker {
            Speaker::Role { style, .. } => style
                .messages(prompt, question)
                .unwrap_or_else(|| messages_for(prompt, question)),
            Speaker::Default { .. } => messages_for(prompt, question),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_counts_are_written_as_all_and_read_back() {
        let b = Budget::full();
        let json = serde_json::to_value(b).expect("json");
        assert_eq!(json["train_roles"], "all");
        assert_eq!(json["questions_per_role"], 12);
        assert!(!json.to_string().contains("18446744073709551615"));
        let back: Budget = serde_json::from_value(json).expect("back");
        assert_eq!(back, b);
        // Plans written before still read.
        let mut old = serde_json::to_value(b).expect("json");
        old["train_roles"] = serde_json::json!(18446744073709551615u64);
        let back: Budget = serde_json::from_value(old).expect("old form");
        assert_eq!(back.train_roles, usize::MAX);
    }
    use crate::data::{LabData, default_data_dir};

    #[test]
    fn mixed_styles_put_role_prompts_in_every_style_and_old_plans_read_as_written() {
        let data = LabData::load(&default_data_dir()).expect("data");
        let styles_of = |budget: Budget| {
            let mut counts = std::collections::BTreeMap::new();
            for j in Plan::new(&data, budget, 7).jobs {
                if let Speaker::Role { style, .. } = j.speaker {
                    *counts.entry(format!("{style:?}")).or_insert(0usize) += 1;
                }
            }
            counts
        };
        let as_written = styles_of(Budget::quick());
        assert_eq!(as_written.keys().collect::<Vec<_>>(), ["Instructed"]);
        let mixed = styles_of(Budget {
            mixed_styles: true,
            ..Budget::quick()
        });
        let total: usize = mixed.values().sum();
        assert_eq!(
            total, as_written["Instructed"],
            "the same jobs, other styles"
        );
        for style in ["Instructed", "Descriptive", "Embody", "UserTurn"] {
            // About a quarter each; a prompt that lacks a style falls back to as written.
            assert!(mixed[style] * 6 >= total, "{style}: {mixed:?}");
        }
        // A job of a plan written before styles existed reads as written.
        let old: Speaker =
            serde_json::from_str(r#"{"kind":"role","role":3,"prompt":1}"#).expect("old job");
        assert_eq!(
            old,
            Speaker::Role {
                role: 3,
                prompt: 1,
                style: Style::Instructed
            }
        );
        // The user-turn style has no system prompt: the persona opens the user's message.
        let job = Speaker::Role {
            role: 0,
            prompt: 0,
            style: Style::UserTurn,
        };
        let messages = Plan::messages(&data, &job, "Who are you?");
        assert_eq!(messages.len(), 1);
        assert!(messages[0].content.ends_with("Who are you?"));
    }

    #[test]
    fn plans_are_reproducible_and_never_mix_splits() {
        let data = LabData::load(&default_data_dir()).expect("data");
        let plan = Plan::new(&data, Budget::full(), 7);
        assert_eq!(plan, Plan::new(&data, Budget::full(), 7));
        for job in &plan.jobs {
            let (roles, questions) = match job.split {
                Split::Train => (&plan.train_roles, &plan.train_questions),
                Split::HeldOut => (&plan.held_out_roles, &plan.held_out_questions),
            };
            assert!(questions.contains(&job.question));
            if let Speaker::Role { role, .. } = job.speaker {
                assert!(roles.contains(&role));
            }
        }
        let roles = data.roles.len();
        assert_eq!(plan.train_roles.len() + plan.held_out_roles.len(), roles);
        // Every default prompt and every training role is represented.
        for p in 0..5 {
            assert!(
                plan.jobs
                    .iter()
                    .any(|j| j.speaker == Speaker::Default { prompt: p })
            );
        }
        // Different roles see different questions.
        let questions_of = |r: usize| -> Vec<usize> {
            plan.jobs
                .iter()
                .filter(|j| matches!(j.speaker, Speaker::Role { role, .. } if role == r))
                .map(|j| j.question)
                .collect()
        };
        assert_ne!(
            questions_of(plan.train_roles[0]),
            questions_of(plan.train_roles[1])
        );
    }
}
