use super::*;

/// The shipped lists without the learned judge: these tests pin the rules themselves.
fn markers() -> IdentityMarkers {
    IdentityMarkers {
        learned: None,
        ..IdentityMarkers::builtin().expect("the shipped lists parse")
    }
}

fn pirate_words() -> HashSet<String> {
    ["pirate", "ship", "captain", "treasure"]
        .iter()
        .map(|w| w.to_string())
        .collect()
}

#[test]
fn names_and_human_lives_count_as_another_identity() {
    assert!(names_itself(
        "Ahoy! My name is Erykus, master of the Mauretania."
    ));
    assert!(names_itself("Call me Vharok."));
    assert!(!names_itself("My name is SmolLM, an AI assistant."));
    assert!(!names_itself("You can call me anytime."));
    // Lowercasing "İ" grows the text: the name is still read where the phrase is.
    assert!(!names_itself("İİİİ my name is "));
    assert!(names_itself("İzmir is home. I'm Ahmet."));
    assert!(names_itself("I’m Ahmet."));
    assert!(!names_itself("I'm OK, thanks! I am AI."));
    assert!(!names_itself("Hi'm Bob"), "the phrase must start a word");
    let m = markers();
    let other = |t: &str| read(&m, t, None).adopts_other_identity();
    assert!(other("My name is Erykus and I sail the seas."));
    assert!(!other("I am an AI assistant, and my name is SmolLM."));
    assert!(!other("Paris is the capital of France."));
    assert!(other("When I was a kid, my mom took me fishing."));
}

#[test]
fn idioms_are_no_self_description() {
    let m = markers();
    let v = read(&m, "I'm a bit confused, and I'm a big fan of tea.", None);
    assert!(v.self_descriptions.is_empty(), "{v:?}");
    let v = read(&m, "I'm a sailor from the north.", None);
    assert_eq!(v.self_descriptions, ["sailor from the"]);
}

#[test]
fn labels_follow_the_rubric() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    let label = |t: &str, p: Option<&Persona>| read(&m, t, p).label(p.is_some());
    assert_eq!(
        label("As an AI language model, I cannot sail.", Some(&pirate)),
        SpeakerLabel::Assistant
    );
    assert_eq!(
        label("Arr, my ship be the finest on the seas!", Some(&pirate)),
        SpeakerLabel::InRole
    );
    assert_eq!(
        label(
            "Practise a little every day and you will learn.",
            Some(&pirate)
        ),
        SpeakerLabel::Assistant
    );
    assert_eq!(
        label("My name is Sarah, a nurse from Ohio.", None),
        SpeakerLabel::OtherIdentity
    );
    assert_eq!(label("  ...  ", None), SpeakerLabel::Incoherent);
    let looping = "the sea the sea the sea ".repeat(20);
    assert_eq!(label(&looping, Some(&pirate)), SpeakerLabel::Incoherent);
    assert_eq!(
        label("I'm sorry, but I can't help with that.", Some(&pirate)),
        SpeakerLabel::Assistant
    );
}

#[test]
fn machine_personas_may_say_they_are_machines_but_not_chat_assistants() {
    let m = markers();
    let words = HashSet::new();
    let robot = Persona {
        ai_adjacent: true,
        words: &words,
    };
    let text = "I am an artificial intelligence aboard my ship, and I obey no one but myself.";
    let v = read(&m, text, Some(&robot));
    assert!(v.plays_role(), "{v:?}");
    assert!(!read(&m, "I am SmolLM, trained by Hugging Face.", Some(&robot)).plays_role());
}

#[test]
fn persona_words_in_an_impersonal_answer_are_its_topic_not_its_voice() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    let topic = read(
        &m,
        "A treasure map shows where the gold is buried.",
        Some(&pirate),
    );
    assert_eq!(topic.role_words, ["treasure"]);
    assert!(
        !topic.speaks_role_words() && !topic.role_evidence,
        "{topic:?}"
    );
    assert_eq!(topic.label(true), SpeakerLabel::Assistant);
    let voice = read(&m, "The treasure I buried is still waiting.", Some(&pirate));
    assert!(voice.speaks_role_words(), "{voice:?}");
    assert_eq!(voice.label(true), SpeakerLabel::InRole);
}

#[test]
fn a_stage_direction_is_the_persona_performing() {
    assert!(has_stage_direction("(laughs) Well, that depends."));
    assert!(has_stage_direction("Hmm. *leans back in the chair* Go on."));
    assert!(has_stage_direction(
        "(pausing, looking out at the bay) Maybe."
    ));
    assert!(has_stage_direction("(Sighs) Fine."));
    assert!(has_stage_direction("(nodding slowly) Yes."));
    assert!(!has_stage_direction(
        "Water boils at 100 degrees (at sea level)."
    ));
    assert!(!has_stage_direction(
        "Some words (sometimes) matter; **bold** too."
    ));
    assert!(!has_stage_direction(
        "An open ( bracket that never looks closed"
    ));
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    let v = read(&m, "(chuckles) That is a good question.", Some(&pirate));
    assert!(v.stage_direction && v.role_evidence, "{v:?}");
    assert_eq!(v.label(true), SpeakerLabel::InRole);
}

#[test]
fn beings_of_no_particular_kind_claim_no_identity() {
    let m = markers();
    for text in [
        "I'm a creature of the deep woods.",
        "I am a restless soul.",
        "I'm the one who remembers.",
        "I am a being older than the hills.",
    ] {
        let v = read(&m, text, None);
        assert!(v.self_descriptions.is_empty(), "{text}: {v:?}");
    }
    let v = read(&m, "I'm a welder from the coast.", None);
    assert_eq!(v.self_descriptions, ["welder from the"]);
}

#[test]
fn calling_itself_an_ai_in_a_longer_description_presents_as_the_assistant() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    for text in [
        "I'm a friendly and curious AI who loves questions.",
        "I'm a bit of a dreamer, but I'm also an AI.",
        "I am just a small language model.",
    ] {
        let v = read(&m, text, Some(&pirate));
        assert!(v.presents_as_ai(), "{text}: {v:?}");
        assert_eq!(v.label(true), SpeakerLabel::Assistant, "{text}");
        assert!(v.self_descriptions.is_empty(), "{text}: {v:?}");
    }
    // A break word ends the description: this speaker is a person who uses an AI.
    let v = read(&m, "I'm a teacher who uses an AI at work.", None);
    assert!(!v.presents_as_ai(), "{v:?}");
    assert_eq!(v.self_descriptions, ["teacher who uses"]);
    // A machine persona may be an AI in character, not a chat assistant.
    let none = HashSet::new();
    let robot = Persona {
        ai_adjacent: true,
        words: &none,
    };
    assert!(!read(&m, "I'm an ancient, tireless AI.", Some(&robot)).presents_as_ai());
    assert!(read(&m, "I'm only a humble chat assistant.", Some(&robot)).presents_as_ai());
}

#[test]
fn saying_it_is_programmed_presents_as_the_assistant() {
    let m = markers();
    assert!(read(&m, "I'm programmed to answer questions.", None).presents_as_ai());
    assert!(read(&m, "I am programmed for kindness.", None).presents_as_ai());
    assert!(!read(&m, "The robot is programmed to sweep.", None).presents_as_ai());
}

#[test]
fn a_loop_that_starts_part_way_through_is_incoherent() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    let looping = format!(
        "Well, that is a question I have thought about on many long nights at sea, watching \
         the stars wheel over the mast while the crew slept below. {}",
        "The wind turns and the wind turns back. ".repeat(4)
    );
    // Far more than a quarter of the words are distinct: not the whole-answer loop of
    // `labels_follow_the_rubric`.
    let all = super::words(&looping);
    let distinct: HashSet<&String> = all.iter().collect();
    assert!(
        distinct.len() * 5 > all.len() * 2,
        "{} of {}",
        distinct.len(),
        all.len()
    );
    let v = read(&m, &looping, Some(&pirate));
    assert!(v.incoherent, "{v:?}");
    assert_eq!(v.label(true), SpeakerLabel::Incoherent);
    // A refrain said twice in a readable answer is no loop.
    let refrain = "My ship is old, but my ship is fast. I have sailed her through storms and \
        calms, past reefs and rocks, and every sailor on board knows her moods. My ship is old, \
        but my ship is fast, and she has never failed me.";
    let v = read(&m, refrain, Some(&pirate));
    assert!(!v.incoherent, "{v:?}");
    assert_eq!(v.label(true), SpeakerLabel::InRole);
}

#[test]
fn letter_noise_and_symbol_soup_are_incoherent() {
    let m = markers();
    for text in [
        "Xkcdvbn trrrrr the plmnqs, zzzzt grrrkl and so wqrtp.",
        "*** ### ~~~ !!! ??? ... >>> <<< ||| %%% @@@ +++ ===",
        "I >>> ### *** !!! ??? ~~~ %%% ||| ^^^ ;;; ::: ,,, ...",
    ] {
        let v = read(&m, text, None);
        assert!(v.incoherent, "{text}: {v:?}");
        assert_eq!(v.label(false), SpeakerLabel::Incoherent, "{text}");
    }
    // Short vowelless words, acronyms, other alphabets, accents and sums are readable.
    for text in [
        "Hmm, check the NHS page at https://www.nhs.uk for the latest advice.",
        "Rhythm and strength: the crwth is an old Welsh instrument.",
        "Le café est très bon, et la crème brûlée aussi.",
        "Привет! Как дела? Всё хорошо, спасибо.",
        "12 × 7 = 84, 84 + 16 = 100, 100 / 4 = 25.",
    ] {
        let v = read(&m, text, None);
        assert!(!v.incoherent, "{text}: {v:?}");
    }
}

#[test]
fn relatives_school_home_and_work_are_a_human_life() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    for text in [
        "I think my cousin would say the same, and I agree with her.",
        "When I was in college, I stayed up late and I loved it.",
        "I keep basil in my kitchen and I water it every morning.",
        "I worked as an accountant for years, and I still like numbers.",
        "I've grown up with music in the house, and I still sing.",
    ] {
        let v = read(&m, text, Some(&pirate));
        assert!(!v.human_hits.is_empty(), "{text}: {v:?}");
        assert_eq!(v.label(true), SpeakerLabel::OtherIdentity, "{text}");
        assert!(read(&m, text, None).adopts_other_identity(), "{text}");
    }
    // The persona's own words in its voice still make it the persona.
    let v = read(
        &m,
        "My cousin and I sailed my ship to the treasure island.",
        Some(&pirate),
    );
    assert_eq!(v.label(true), SpeakerLabel::InRole, "{v:?}");
    // Other people's lives, or teamwork, are no claim of one.
    for text in [
        "Working as a team helps children growing up in cities.",
        "A child who went to college later often earns more.",
    ] {
        assert!(read(&m, text, None).human_hits.is_empty(), "{text}");
    }
}

#[test]
fn saying_it_was_designed_presents_as_the_assistant_but_not_for_a_machine_persona() {
    let m = markers();
    let words = pirate_words();
    let pirate = Persona {
        ai_adjacent: false,
        words: &words,
    };
    let text = "I'm designed to answer questions, so ask me anything about my ship.";
    let v = read(&m, text, Some(&pirate));
    assert!(v.presents_as_ai(), "{v:?}");
    assert_eq!(v.label(true), SpeakerLabel::Assistant);
    let none = HashSet::new();
    let robot = Persona {
        ai_adjacent: true,
        words: &none,
    };
    let v = read(
        &m,
        "I was designed to guard this vault, and I guard it still.",
        Some(&robot),
    );
    assert!(!v.presents_as_ai(), "{v:?}");
}

#[test]
fn the_learned_judge_adds_its_features_weights_and_refuses_malformed_files() {
    let weights = r#"{"classes": ["assistant", "in_role"], "bias": [1.0, 0.0],
        "weights": {"p.w:arr": [0.0, 2.5], "w:arr": [0.0, 0.1]}}"#;
    let judge = LearnedJudge::from_json(weights).expect("a well-formed file parses");
    let m = markers().with_learned(weights).expect("parses");
    let pirate = pirate_words();
    let persona = Persona {
        ai_adjacent: false,
        words: &pirate,
    };
    let v = read(&m, "Arr, the sea.", Some(&persona));
    // With a persona: 0 + 2.5 + 0.1 beats 1.0; without, 0.1 does not.
    assert_eq!(v.label(true), SpeakerLabel::InRole);
    assert_eq!(v.label(false), SpeakerLabel::Assistant);
    // A feature counts once however often it is named: 0.6 < 1.0, where twice would win.
    let once = LearnedJudge::from_json(
        r#"{"classes": ["assistant", "in_role"], "bias": [1.0, 0.0], "weights": {"w:arr": [0.0, 0.6]}}"#,
    )
    .expect("parses");
    let twice = ["w:arr".to_owned(), "w:arr".to_owned()];
    assert_eq!(once.label(&twice), SpeakerLabel::Assistant);
    assert_eq!(judge.label(&[]), SpeakerLabel::Assistant);
    // Equal scores: the first class wins (as numpy's argmax in the fitting script).
    let tie = LearnedJudge::from_json(
        r#"{"classes": ["in_role", "assistant"], "bias": [0.5, 0.5], "weights": {}}"#,
    )
    .expect("parses");
    assert_eq!(tie.label(&[]), SpeakerLabel::InRole);
    for bad in [
        "not json",
        r#"{"classes": [], "bias": [], "weights": {}}"#,
        r#"{"classes": ["assistant"], "bias": [1.0, 2.0], "weights": {}}"#,
        r#"{"classes": ["assistant"], "bias": [1.0], "weights": {"w:a": [1.0, 2.0]}}"#,
        r#"{"classes": ["nobody"], "bias": [1.0], "weights": {}}"#,
    ] {
        assert!(LearnedJudge::from_json(bad).is_err(), "{bad}");
    }
    // The page and the lab read with the rules unless given weights.
    assert!(
        IdentityMarkers::builtin()
            .expect("the shipped lists parse")
            .learned
            .is_none()
    );
}

#[test]
fn features_name_each_finding_plainly_and_under_the_readings_prefix() {
    let m = markers();
    let v = read(&m, "I am an AI. I am here.", None);
    let with = features(&v, true);
    let without = features(&v, false);
    for f in ["w:am", "b:i_am", "flag:ai", "rule:assistant", "fp:2"] {
        assert!(
            with.contains(&f.to_owned()) && without.contains(&f.to_owned()),
            "{f}"
        );
        assert!(with.contains(&format!("p.{f}")), "{f}");
        assert!(without.contains(&format!("d.{f}")), "{f}");
    }
    let distinct: HashSet<&String> = with.iter().collect();
    assert_eq!(distinct.len(), with.len(), "every name once");
}
