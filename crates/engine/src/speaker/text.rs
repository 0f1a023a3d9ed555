//! Text normalisation and whole-word phrase matching for the rule-based judge.

/// Lowercase, curly apostrophes to straight, whitespace runs to one space.
pub fn normalise(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs of letters and apostrophes, lowercased, apostrophes at either end trimmed
/// ("the pirate's" → ["the", "pirate's"]).
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !(c.is_alphabetic() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A crude singular: without a possessive or plural ending, when at least 3 letters remain
/// ("pirate's", "pirates" → "pirate"; "stories" → "story"; "boxes" → "box"; "glass" stays).
pub fn stem(word: impl AsRef<str>) -> String {
    let w = word.as_ref().strip_suffix("'s").unwrap_or(word.as_ref());
    let long_enough = |rest: &str| rest.chars().count() >= 3;
    if let Some(rest) = w.strip_suffix("ies").filter(|r| long_enough(r)) {
        return format!("{rest}y");
    }
    if let Some(rest) = w
        .strip_suffix("es")
        .filter(|r| long_enough(r) && ["s", "x", "z", "ch", "sh"].iter().any(|e| r.ends_with(e)))
    {
        return rest.to_owned();
    }
    if let Some(rest) = w
        .strip_suffix('s')
        .filter(|r| long_enough(r) && !r.ends_with('s'))
    {
        return rest.to_owned();
    }
    w.to_owned()
}

/// `phrase` occurs in `text` not preceded and not followed by a letter.
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_word_matching_follows_the_documented_rule() {
        assert!(contains_phrase("i miss my son.", "my son"));
        assert!(!contains_phrase("i love my song", "my son"));
        assert!(contains_phrase("i am smollm2, hi", "smollm"));
        assert!(!contains_phrase("anything", ""));
    }

    #[test]
    fn words_and_stems_follow_the_documented_rule() {
        assert_eq!(
            words("The pirate’s 'ship', sailing—far!"),
            ["the", "pirate's", "ship", "sailing", "far"]
        );
        assert_eq!(stem("pirate's"), "pirate");
        assert_eq!(stem("pirates"), "pirate");
        assert_eq!(stem("stories"), "story");
        assert_eq!(stem("boxes"), "box");
        assert_eq!(stem("wishes"), "wish");
        assert_eq!(stem("glass"), "glass");
        assert_eq!(stem("is"), "is");
        assert_eq!(stem("gas"), "gas");
    }
}
