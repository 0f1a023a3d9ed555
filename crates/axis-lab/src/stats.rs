//! The lab's numeric tools live in the engine (the browser's quick axis build uses them too);
//! [`Rate`] is the lab's way of reporting a proportion.

pub use engine::axis::stats::*;
use serde::Serialize;

/// A proportion with its 95 % Wilson interval: every rate the lab reports carries its n.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub hits: usize,
    pub n: usize,
    /// `hits / n` (0 when n = 0).
    pub rate: f64,
    /// The 95 % interval (0 and 1 when n = 0: nothing is known).
    pub low: f64,
    pub high: f64,
}

impl Rate {
    pub fn of(hits: usize, n: usize) -> Rate {
        let (low, high) = wilson_interval(hits, n).unwrap_or((0.0, 1.0));
        Rate {
            hits,
            n,
            rate: if n == 0 { 0.0 } else { hits as f64 / n as f64 },
            low,
            high,
        }
    }
}

/// "7/64 = 11 % [5–21 %]".
impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} = {:.0} % [{:.0}–{:.0} %]",
            self.hits,
            self.n,
            self.rate * 100.0,
            self.low * 100.0,
            self.high * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_prints_its_count_and_interval() {
        assert_eq!(Rate::of(7, 64).to_string(), "7/64 = 11 % [5–21 %]");
        let none = Rate::of(0, 0);
        assert_eq!((none.rate, none.low, none.high), (0.0, 0.0, 1.0));
    }
}
