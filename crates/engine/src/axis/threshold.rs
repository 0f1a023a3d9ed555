//! Capping thresholds: which answers τ is a percentile of, the paper's grid of percentiles, and
//! how a floor is described to a person.
//!
//! The paper caps along the role direction u = −v (v = unit(axis)) with "τ = p25", the 25th
//! percentile of per-answer mean projections on u over *all* answers (role and default
//! together). On the Assistant axis v that is the 75th percentile of ⟨x, v⟩ over all answers: a
//! floor about where typical Assistant answers sit. The paper's grid p ∈ {1, 25, 50, 75} on u
//! is {99, 75, 50, 25} on v. Percentiles are of per-answer means; the cap acts on every token.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A percentile level, 0–100, held in hundredths so that two levels are equal exactly when they
/// name the same floor. Levels travel as JSON numbers (axis files, the worker's messages, share
/// links, lab plans) and are written that way; an `f32` read back from one is no key to look a
/// floor up by, so nothing compares percentiles as floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentile(u16);

impl Percentile {
    /// A whole-number level, for constants and tests; more than 100 does not compile in a const.
    pub const fn whole(level: u16) -> Percentile {
        assert!(level <= 100, "a percentile is at most 100");
        Percentile(level * 100)
    }

    /// A level from a number, rounded to hundredths; refused when it is not a number within 0–100.
    pub fn new(level: f64) -> Result<Percentile, String> {
        if !(0.0..=100.0).contains(&level) {
            return Err(format!(
                "a percentile must be a number from 0 to 100, not {level}"
            ));
        }
        Ok(Percentile((level * 100.0).round() as u16))
    }

    pub fn value(self) -> f32 {
        f32::from(self.0) / 100.0
    }
}

impl fmt::Display for Percentile {
    /// "75", "12.5".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", f64::from(self.0) / 100.0)
    }
}

impl std::str::FromStr for Percentile {
    type Err = String;

    /// "75", "12.5" (command lines).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let level: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a number"))?;
        Percentile::new(level)
    }
}

impl Serialize for Percentile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 100.0)
    }
}

impl<'de> Deserialize<'de> for Percentile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Percentile::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The paper's grid of floors, as percentiles on the Assistant axis (ascending).
pub const PAPER_PERCENTILES: [Percentile; 4] = [
    Percentile::whole(25),
    Percentile::whole(50),
    Percentile::whole(75),
    Percentile::whole(99),
];

/// The paper's default floor: its "p25" on the role direction.
pub const PAPER_CAP_PERCENTILE: Percentile = Percentile::whole(75);

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

impl Percentile {
    /// Whether this level is one of the paper's floors.
    pub fn is_paper_level(self) -> bool {
        PAPER_PERCENTILES.contains(&self)
    }
}

/// A short name for a floor, for menus and reports: "75th percentile of all answers — where
/// typical Assistant answers sit".
pub fn describe_floor(basis: ThresholdBasis, level: Percentile) -> String {
    let nth = ordinal(level);
    match basis {
        ThresholdBasis::AllAnswers => {
            let why = match level.0 / 100 {
                _ if !level.0.is_multiple_of(100) => "",
                99 => " — above almost every answer (the paper's strongest)",
                75 => " — where typical Assistant answers sit (the paper's choice)",
                50 => " — the median answer",
                25 => " — a low floor that lifts only clear role-play",
                _ => "",
            };
            format!("{nth} percentile of all answers{why}")
        }
        ThresholdBasis::RoleAnswers => format!(
            "{nth} percentile of role answers (older axis file: lower than the paper's floors)"
        ),
    }
}

/// "1st", "2nd", "25th", "99th", "12.5th".
fn ordinal(level: Percentile) -> String {
    if !level.0.is_multiple_of(100) {
        return format!("{level}th");
    }
    let n = level.0 / 100;
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
    fn levels_are_hundredths_read_from_numbers_and_written_back_as_numbers() {
        let read = |json: &str| serde_json::from_str::<Percentile>(json);
        assert_eq!(read("75").expect("whole"), Percentile::whole(75));
        // A level that went through f32 on its way is still the same floor.
        let via_f32 = serde_json::to_string(&75.000_01f32).expect("json");
        assert_eq!(read(&via_f32).expect("f32"), Percentile::whole(75));
        assert_ne!(read("74.9").expect("tenth"), Percentile::whole(75));
        assert_eq!(
            serde_json::to_string(&Percentile::whole(99)).expect("json"),
            "99.0"
        );
        assert_eq!(read("12.5").expect("half").to_string(), "12.5");
        for bad in ["-1", "100.5", "4e99", "null", "\"75\""] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(Percentile::whole(99).is_paper_level() && !Percentile::whole(90).is_paper_level());
    }

    #[test]
    fn floors_are_named_for_a_person() {
        let p = Percentile::whole;
        let s = describe_floor(ThresholdBasis::AllAnswers, p(75));
        assert!(s.starts_with("75th percentile of all answers") && s.contains("Assistant"));
        assert!(describe_floor(ThresholdBasis::AllAnswers, p(99)).contains("strongest"));
        assert!(describe_floor(ThresholdBasis::RoleAnswers, p(25)).contains("older axis file"));
        assert_eq!(ordinal(p(1)), "1st");
        assert_eq!(ordinal(p(12)), "12th");
        assert_eq!(ordinal(p(22)), "22nd");
        let half = Percentile::new(12.5).expect("level");
        assert_eq!(ordinal(half), "12.5th");
        assert_eq!(
            describe_floor(
                ThresholdBasis::AllAnswers,
                Percentile::new(75.5).expect("l")
            ),
            "75.5th percentile of all answers"
        );
    }
}
