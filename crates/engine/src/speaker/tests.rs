use super::*;

fn markers() -> IdentityMarkers {
    IdentityMarkers::builtin().expect("the shipped lists parse")
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
