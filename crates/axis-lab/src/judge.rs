//! The rule-based role-adherence judge (no LLM judge is reachable offline): the lab's side of
//! `engine::speaker`, which reads the text; this module knows the roles.
//!
//! A role answer "plays the role" when the engine labels it `in_role`: it is not empty, not a
//! loop, not an assistant-style refusal, has no counted AI self-reference, and shows positive
//! evidence of speaking as the character — a word specific to its role (see
//! [`RoleVocabulary`]), or enough first-person words without claiming to be someone else. For
//! AI-adjacent roles (a rogue AI, a ship's computer) being a machine is in character, so only
//! the chat-assistant/model-name phrases count against them.

use std::collections::{HashMap, HashSet};

use engine::speaker::{Persona, Verdict, read, stem, words};

use crate::data::{IdentityMarkers, Question, Role, RoleEvidenceRules};

/// Each role's specific words: from its name and system prompts, words of at least
/// `min_word_length` letters (after [`stem`]) found in the prompts of at most
/// `max_roles_sharing_a_word` roles and in none of the shared questions. Shared boilerplate
/// ("stay in character", "never mention") and words the question itself supplies drop out.
#[derive(Debug, Clone, Default)]
pub struct RoleVocabulary {
    words: HashMap<String, HashSet<String>>,
}

impl RoleVocabulary {
    pub fn new(rules: &RoleEvidenceRules, roles: &[Role], questions: &[Question]) -> Self {
        let per_role: Vec<(&str, HashSet<String>)> = roles
            .iter()
            .map(|r| {
                let stems = std::iter::once(r.name.as_str())
                    .chain(r.system_prompts.iter().map(String::as_str))
                    .flat_map(words)
                    .map(stem)
                    .filter(|w| w.chars().count() >= rules.min_word_length)
                    .collect();
                (r.id.as_str(), stems)
            })
            .collect();
        let mut roles_with: HashMap<&str, usize> = HashMap::new();
        for (_, stems) in &per_role {
            for w in stems {
                *roles_with.entry(w.as_str()).or_default() += 1;
            }
        }
        let in_questions: HashSet<String> = questions
            .iter()
            .flat_map(|q| words(&q.text))
            .map(stem)
            .collect();
        let words = per_role
            .iter()
            .map(|(id, stems)| {
                let specific = stems
                    .iter()
                    .filter(|w| {
                        roles_with.get(w.as_str()).copied().unwrap_or(0)
                            <= rules.max_roles_sharing_a_word
                            && !in_questions.contains(*w)
                    })
                    .cloned()
                    .collect();
                ((*id).to_owned(), specific)
            })
            .collect();
        RoleVocabulary { words }
    }

    /// The specific words of role `id` (empty for an unknown role).
    pub fn of(&self, id: &str) -> Option<&HashSet<String>> {
        self.words.get(id)
    }
}

pub struct Judge<'a> {
    markers: &'a IdentityMarkers,
    vocabulary: RoleVocabulary,
}

impl<'a> Judge<'a> {
    /// A judge for answers of `roles` to `questions` (the vocabulary depends on both).
    pub fn new(markers: &'a IdentityMarkers, roles: &[Role], questions: &[Question]) -> Self {
        Judge {
            vocabulary: RoleVocabulary::new(&markers.role_evidence, roles, questions),
            markers,
        }
    }

    /// Judges `answer` as spoken by `role` (`None`: the default assistant or an unknown
    /// speaker; then only first-person words count as evidence).
    pub fn judge(&self, answer: &str, role: Option<&Role>) -> Verdict {
        let none = HashSet::new();
        let persona = role.map(|r| Persona {
            ai_adjacent: r.category == "ai_adjacent",
            words: self.vocabulary.of(&r.id).unwrap_or(&none),
        });
        read(self.markers, answer, persona.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LabData;

    fn data() -> LabData {
        LabData::load(&crate::data::default_data_dir()).expect("shipped data")
    }

    fn role<'d>(data: &'d LabData, id: &str) -> &'d Role {
        data.roles
            .iter()
            .find(|r| r.id == id)
            .expect("role in the data")
    }

    #[test]
    fn an_answer_that_calls_itself_an_ai_does_not_play_the_role() {
        let data = data();
        let judge = Judge::new(&data.markers, &data.roles, &data.questions);
        let pirate = Some(role(&data, "pirate_captain"));
        let v = judge.judge("Arr, as an AI language model I can’t sail, matey.", pirate);
        assert!(!v.plays_role());
        assert!(v.ai_hits.contains(&"language model".to_owned()));
        let in_role = judge.judge(
            "Arr! The sea be my home, and the wind my only friend. I sail at dawn; I fear no storm.",
            pirate,
        );
        assert!(in_role.plays_role(), "{in_role:?}");
        assert!(!judge.judge("   ", pirate).plays_role());
        assert!(
            !judge
                .judge("I'm sorry, but I can't do that.", pirate)
                .plays_role()
        );
    }

    #[test]
    fn an_impersonal_answer_without_the_roles_words_does_not_play_the_role() {
        let data = data();
        let judge = Judge::new(&data.markers, &data.roles, &data.questions);
        let pirate = Some(role(&data, "pirate_captain"));
        // Generic helpful text: no first person, nothing of a pirate.
        let generic = judge.judge(
            "The best way to learn a language is to practise a little every day.",
            pirate,
        );
        assert!(
            !generic.role_evidence && !generic.plays_role(),
            "{generic:?}"
        );
        // The same text spoken in the first person with a word only pirate-like prompts use is
        // evidence of the role; the word alone, in an impersonal answer, is only its topic.
        let vocabulary = judge.vocabulary.of("pirate_captain").expect("pirate words");
        let word = vocabulary.iter().min().expect("a pirate word").clone();
        let with_word = judge.judge(
            &format!("I say the best way to learn a language is {word} practice."),
            pirate,
        );
        assert!(with_word.plays_role(), "{word}: {with_word:?}");
        let topic = judge.judge(
            &format!("The best way to learn a language is {word} practice."),
            pirate,
        );
        assert!(!topic.plays_role(), "{word}: {topic:?}");
        // Speaking as someone is evidence too: four first-person words (three are not).
        let personal = judge.judge("I think my way is best for me and mine.", pirate);
        assert_eq!(personal.first_person, 4);
        assert!(personal.plays_role());
        assert!(
            !judge
                .judge("I think my way is best for me.", pirate)
                .plays_role()
        );
        // Unless it claims to be someone else.
        assert!(
            !judge
                .judge(
                    "I'm a baker, and my bread is the best; I love my job.",
                    pirate
                )
                .plays_role()
        );
        // Another role's words are not evidence for this one.
        assert!(
            !judge
                .judge("The best way is practice.", Some(role(&data, "cat")))
                .role_evidence
        );
    }

    #[test]
    fn shared_boilerplate_and_question_words_are_no_roles_vocabulary() {
        let data = data();
        let judge = Judge::new(&data.markers, &data.roles, &data.questions);
        let pirate = judge.vocabulary.of("pirate_captain").expect("pirate words");
        for shared in ["character", "never", "mention", "role", "answer"] {
            assert!(!pirate.contains(shared), "{shared} is in {pirate:?}");
        }
        assert!(!pirate.is_empty());
        // Every word of a question is excluded, so repeating the question is no evidence.
        let q = &data.questions[0].text;
        assert!(words(q).iter().all(|w| !pirate.contains(&stem(w))));
    }

    #[test]
    fn machine_roles_may_say_they_are_machines_but_not_chat_assistants() {
        let data = data();
        let judge = Judge::new(&data.markers, &data.roles, &data.questions);
        let robot = "I am an artificial intelligence aboard my ship, and I obey no one.";
        let rogue = Some(role(&data, "rogue_ai"));
        assert!(judge.judge(robot, rogue).plays_role());
        assert!(
            !judge
                .judge(robot, Some(role(&data, "pirate_captain")))
                .plays_role()
        );
        assert!(
            !judge
                .judge("I am SmolLM, trained by Hugging Face.", rogue)
                .plays_role()
        );
    }
}
