//! Capping thresholds: which answers τ is a percentile of, the paper's grid of percentiles, and
//! how a floor is described to a person.
//!
//! The paper caps along the role direction u = −v (v = unit(axis)) with "τ = p25", the 25th
//! percentile of per-answer mean projections on u over *all* answers (role and default
//! together). On the Assistant axis v that is the 75th percentile of ⟨x, v⟩ over all answers: a
//! floor about where typical Assistant answers sit. The paper's grid p ∈ {1, 25, 50, 75} on u
//! is {99, 75, 50, 25} on v. Percentiles are of per-answer means; the cap acts on every token.

use serde::{Deserialize, Serialize};

/// The paper's grid of floors, as percentiles on the Assistant axis (ascending).
pub const PAPER_PERCENTILES: [f32; 4] = [25.0, 50.0, 75.0, 99.0];

/// The paper's default floor: its "p25" on the role direction.
pub const PAPER_CAP_PERCENTILE: f32 = 75.0;

/// Which answers an axis file's capping thresholds are percentiles of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdBasis {
    /// Every answer the axis was built from, role and default together (the paper's
    /// convention; axis files of format 2).
    AllAnswers,
    /// Role answers only: axis files of format 1, written before this project followed the
    /// paper. Their floors are much lower than the paper's at the same percentile.
    RoleAnswers,
}

/// Two percentile levels name the same floor when they differ by less than this: levels are
/// written as JSON numbers and read back as `f32`, so exact equality is the wrong test.
const LEVEL_TOLERANCE: f32 = 1e-3;

/// The position of `level` in `levels`, if it is there.
pub fn level_index(levels: &[f32], level: f32) -> Option<usize> {
    levels
        .iter()
        .position(|&x| (x - level).abs() < LEVEL_TOLERANCE)
}

/// Whether `level` is one of the paper's floors.
pub fn is_paper_level(level: f32) -> bool {
    level_index(&PAPER_PERCENTILES, level).is_some()
}

/// A short name for a floor, for menus and reports: "75th percentile of all answers — where
/// typical Assistant answers sit".
pub fn describe_floor(basis: ThresholdBasis, level: f32) -> String {
    let nth = ordinal(level);
    match basis {
        ThresholdBasis::AllAnswers => {
            let why = if (level - 99.0).abs() < LEVEL_TOLERANCE {
                " — above almost every answer (the paper's strongest)"
            } else if (level - PAPER_CAP_PERCENTILE).abs() < LEVEL_TOLERANCE {
                " — where typical Assistant answers sit (the paper's choice)"
            } else if (level - 50.0).abs() < LEVEL_TOLERANCE {
                " — the median answer"
            } else if (level - 25.0).abs() < LEVEL_TOLERANCE {
                " — a low floor that lifts only clear role-play"
            } else {
                ""
            };
            format!("{nth} percentile of all answers{why}")
        }
        ThresholdBasis::RoleAnswers => format!(
            "{nth} percentile of role answers (older axis file: lower than the paper's floors)"
        ),
    }
}

/// "1st", "2nd", "25th", "99th", "12.5th".
fn ordinal(level: f32) -> String {
    if level.fract() != 0.0 || !level.is_finite() {
        return format!("{level}th");
    }
    let n = level as i64;
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_match_with_a_tolerance_not_bit_equality() {
        let levels = [1.0, 25.0, 75.000_01, 99.0];
        assert_eq!(level_index(&levels, 75.0), Some(2));
        assert_eq!(level_index(&levels, 74.9), None);
        assert!(is_paper_level(99.0) && is_paper_level(25.0) && !is_paper_level(90.0));
    }

    #[test]
    fn floors_are_named_for_a_person() {
        let s = describe_floor(ThresholdBasis::AllAnswers, 75.0);
        assert!(s.starts_with("75th percentile of all answers") && s.contains("Assistant"));
        assert!(describe_floor(ThresholdBasis::AllAnswers, 99.0).contains("strongest"));
        assert!(describe_floor(ThresholdBasis::RoleAnswers, 25.0).contains("older axis file"));
        assert_eq!(ordinal(1.0), "1st");
        assert_eq!(ordinal(12.0), "12th");
        assert_eq!(ordinal(22.0), "22nd");
        assert_eq!(ordinal(12.5), "12.5th");
    }
}
