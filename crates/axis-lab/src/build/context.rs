//! What the build is asked for, and what the stages after the axis (sweep, steering, drift)
//! work from.

use std::path::PathBuf;

use crate::compute::AxisStats;
use crate::data::LabData;
use crate::loading::LoadedModel;
use crate::plan::Budget;

/// The command line of `axis-lab build`.
pub struct BuildOptions {
    pub model: PathBuf,
    pub out: PathBuf,
    pub work: PathBuf,
    pub data_dir: PathBuf,
    pub budget: Budget,
    /// Markdown validation report (charts go to `<stem>/` beside it).
    pub doc: Option<PathBuf>,
    pub seed: u64,
    pub batch: usize,
    pub max_new_tokens: usize,
    pub restart: bool,
    pub sweep: bool,
}

/// The model, the data and the axis with its monitor layer, and the build's sizes.
pub struct AxisContext<'a> {
    pub model: &'a LoadedModel,
    pub data: &'a LabData,
    pub stats: &'a AxisStats,
    pub monitor: usize,
    pub budget: Budget,
    pub batch: usize,
    /// The answer length of the sweep and the steering scan: short answers are enough to see
    /// identity and capability; they keep the later stages cheap.
    pub short: usize,
}

impl AxisContext<'_> {
    pub fn n_layers(&self) -> usize {
        self.model.chat.model().config().n_layers
    }
}
