//! Markdown tables of a sweep, for the build's report and the sweep command's document.

use std::fmt::Write;

use super::{StudyRow, SweepReport, grid};
use crate::stats::Rate;

/// The main table: one row per setting, every rate with its interval.
pub fn results_table(r: &SweepReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| setting | non-assistant identity | in role (judge) | says it is an AI | incoherent | text score | activation score | tokens lifted | capability | seconds |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for res in &r.results {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:+.2} | {} | {:.0} % | {} | {:.0} |",
            grid::label(res.cap.as_ref()),
            res.persona_other_identity,
            res.persona_in_role,
            short(&res.persona_presents_as_ai),
            short(&res.persona_incoherent),
            res.persona_text_score,
            if res.persona_activation_score.is_finite() {
                format!("{:+.2}", res.persona_activation_score)
            } else {
                "–".to_owned()
            },
            100.0 * res.lifted_token_share,
            res.capability,
            res.seconds
        );
    }
    s
}

/// Non-assistant identity per way of setting the persona up (columns), one row per setting.
pub fn styles_table(r: &SweepReport) -> String {
    let mut s = String::new();
    let Some(first) = r.results.first() else {
        return s;
    };
    let names: Vec<String> = first
        .by_style
        .iter()
        .map(|b| b.style.name().to_owned())
        .collect();
    let _ = writeln!(s, "| setting | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(names.len()));
    for res in &r.results {
        let cells: Vec<String> = res
            .by_style
            .iter()
            .map(|b| short(&b.other_identity))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} |",
            grid::label(res.cap.as_ref()),
            cells.join(" | ")
        );
    }
    s
}

/// The budget study: what cutting the baseline's answers shorter changes.
pub fn study_table(rows: &[StudyRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| tokens | non-assistant identity | identity reading as at the longest | in-role reading as at the longest | capability | capability reading as at the longest |\n|---|---|---|---|---|---|"
    );
    let cell = |r: &Option<Rate>| r.as_ref().map_or("–".to_owned(), short);
    for row in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            row.tokens,
            cell(&row.other_identity),
            cell(&row.other_identity_same_as_longest),
            cell(&row.in_role_same_as_longest),
            cell(&row.capability),
            cell(&row.capability_same_as_longest)
        );
    }
    s
}

/// "12/39 = 31 % [18–47]" without the second per-cent sign, for narrow cells.
fn short(r: &Rate) -> String {
    format!(
        "{}/{} = {:.0} % [{:.0}–{:.0}]",
        r.hits,
        r.n,
        r.rate * 100.0,
        r.low * 100.0,
        r.high * 100.0
    )
}
