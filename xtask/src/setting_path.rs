//! The newcomer test: docs/architecture.md lists the files the capping setting crosses from the
//! panel to the forward pass ("The path of one setting: the cap"). The test reads that list and
//! holds the code to it: at most six files, each present and naming what the list says it
//! does, and the files the list says only carry the setting (the worker's host) not touching it.
//! A new hop fails the test until the docs say so, and then it fails on the count.

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The most files the path may cross (issue: a newcomer follows one setting in a few files).
    const MOST_FILES: usize = 6;

    /// The numbered items of the section: each begins with the file's path in backticks.
    fn listed_files(architecture: &str) -> Vec<String> {
        let section = architecture
            .split("### The path of one setting: the cap")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .expect("docs/architecture.md has the section on the cap's path");
        section
            .lines()
            .filter_map(|line| {
                let (number, rest) = line.split_once(". `")?;
                number.trim().parse::<usize>().ok()?;
                rest.split_once('`').map(|(path, _)| path.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_cap_settings_path_is_six_files_as_documented() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |path: &str| {
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let files = listed_files(&read("docs/architecture.md"));
        assert!(files.len() >= 2, "the list was not read: {files:?}");
        assert!(
            files.len() <= MOST_FILES,
            "{} files: {files:?}",
            files.len()
        );
        // Each step names the setting (or, at the end, the caps it became).
        let names: [(&str, &[&str]); 6] = [
            (
                "src/components/capping_panel.rs",
                &["state.capping.update", "offered_levels"],
            ),
            (
                "crates/engine/src/axis/plan.rs",
                &["fn request", "fn plan", "fn plan_caps"],
            ),
            (
                "src/session_events.rs",
                &["pub fn submit", ".request(", "capping,"],
            ),
            (
                "src/worker/protocol.rs",
                &["pub struct GenerateRequest", "capping: Option<CapSetting>"],
            ),
            ("src/worker/answerer.rs", &["axis::plan(axis, capping"]),
            (
                "crates/engine/src/model/interventions.rs",
                &["pub caps: Vec<Cap>"],
            ),
        ];
        assert_eq!(
            files,
            names
                .iter()
                .map(|(f, _)| (*f).to_owned())
                .collect::<Vec<_>>(),
            "the documented path changed: update this test with it"
        );
        for (file, says) in names {
            let text = read(file);
            for s in says {
                assert!(text.contains(s), "{file} no longer has `{s}`");
            }
        }
        // The host hands the request on whole: a field read there would be another hop.
        let host = read("src/worker/host.rs");
        for hop in [
            ".capping",
            "capping:",
            "capping,",
            "CapSetting",
            ".steering",
        ] {
            assert!(!host.contains(hop), "src/worker/host.rs reads `{hop}`");
        }
    }
}
