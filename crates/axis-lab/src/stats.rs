//! The lab's numeric tools live in the engine (the browser's quick axis build uses them too).

pub use engine::axis::stats::*;
