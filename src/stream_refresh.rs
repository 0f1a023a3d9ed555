//! How often an answer's streamed text reaches the screen.
//!
//! Every token of an answer arrives as its own message from the worker. Re-rendering the
//! conversation for each one made the page lay out, paint and save the whole conversation ~22
//! times a second — about a fifth of a core on a 2-core machine, taken from the threaded CPU
//! decode that needs both (docs/threads.md, "The page's own share of a decode step"). So the
//! text is kept as it arrives, and the conversation's readers are told at most once per
//! [`STREAM_REFRESH_MS`]: at once when the last refresh is older than that (the first token shows
//! without delay), else by one timer at the end of the interval. Any other change of the
//! conversation — an answer finished, a turn added — refreshes at once.

/// The shortest time between two refreshes of streamed text (ms): ten a second still reads as
/// text being written.
pub const STREAM_REFRESH_MS: f64 = 100.0;

/// What to do with new streamed text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refresh {
    /// Tell the readers now.
    Now,
    /// Start a timer of this many ms, then call [`RefreshThrottle::timer_fired`].
    After(f64),
    /// A timer already runs; it will show this text too.
    Pending,
}

/// When the conversation's readers last saw it, and whether a timer will refresh them.
#[derive(Clone, Copy, Debug, Default)]
pub struct RefreshThrottle {
    last_ms: Option<f64>,
    timer_running: bool,
}

impl RefreshThrottle {
    /// New text of the answer being written, at `now_ms` (a clock in ms).
    pub fn streamed(&mut self, now_ms: f64) -> Refresh {
        if self.timer_running {
            return Refresh::Pending;
        }
        match self.last_ms {
            Some(last) if now_ms - last < STREAM_REFRESH_MS => {
                self.timer_running = true;
                // Clamped: a clock set back must not hold the text longer than one interval.
                Refresh::After((STREAM_REFRESH_MS - (now_ms - last)).min(STREAM_REFRESH_MS))
            }
            _ => {
                self.last_ms = Some(now_ms);
                Refresh::Now
            }
        }
    }

    /// The readers were told at `now_ms`: by the timer, or for another change.
    pub fn refreshed(&mut self, now_ms: f64) {
        self.last_ms = Some(now_ms);
    }

    /// The timer started by [`Refresh::After`] ran out at `now_ms`; the caller tells the readers.
    pub fn timer_fired(&mut self, now_ms: f64) {
        self.timer_running = false;
        self.refreshed(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_text_shows_at_once_and_the_next_within_one_interval() {
        let mut t = RefreshThrottle::default();
        assert_eq!(t.streamed(1_000.0), Refresh::Now);
        // 45 ms later: one timer for the rest of the interval; later text waits for it.
        assert_eq!(t.streamed(1_045.0), Refresh::After(55.0));
        assert_eq!(t.streamed(1_090.0), Refresh::Pending);
        t.timer_fired(1_100.0);
        assert_eq!(t.streamed(1_135.0), Refresh::After(65.0));
        t.timer_fired(1_200.0);
        // Text that comes slower than the interval shows as it comes.
        assert_eq!(t.streamed(1_350.0), Refresh::Now);
        assert_eq!(t.streamed(1_460.0), Refresh::Now);
    }

    #[test]
    fn a_clock_set_back_waits_one_interval_at_most() {
        let mut t = RefreshThrottle::default();
        t.refreshed(10_000.0);
        assert_eq!(t.streamed(4_000.0), Refresh::After(STREAM_REFRESH_MS));
    }

    #[test]
    fn another_change_counts_as_a_refresh() {
        let mut t = RefreshThrottle::default();
        t.refreshed(500.0);
        assert_eq!(t.streamed(520.0), Refresh::After(80.0));
        t.timer_fired(600.0);
        t.refreshed(610.0);
        assert_eq!(t.streamed(650.0), Refresh::After(60.0));
    }
}
