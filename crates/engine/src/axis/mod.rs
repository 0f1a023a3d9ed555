//! Axis files: the Assistant Axis of one model, with everything the app and the lab need
//! (per-layer axis, means, capping thresholds, PCA of role vectors), stored as safetensors with
//! JSON metadata.
//!
//! Layout (all `F32`, row-major; `L` layers, `H` hidden size, `P` percentile levels, `K` PCA
//! components, `R` roles):
//!
//! | tensor | shape | what |
//! |---|---|---|
//! | `axis` | `[L, H]` | `mean(default) − mean(role vectors)`, unnormalised, toward the Assistant |
//! | `default_mean` | `[L, H]` | mean over default-assistant answers |
//! | `role_mean` | `[L, H]` | mean of the role vectors (the score's centre) |
//! | `default_percentiles` | `[L, P]` | percentiles of per-answer projections, default answers |
//! | `role_percentiles` | `[L, P]` | the same over role answers |
//! | `all_percentiles` | `[L, P]` | the same over all answers: the capping thresholds (format 2) |
//! | `pca_components` | `[L, K, H]` | principal directions of the (mean-centred) role vectors |
//! | `pca_explained` | `[L, K]` | explained-variance ratio per component |
//! | `role_coords` | `[R, K]` | role vectors at the monitor layer in PCA coordinates |
//!
//! The safetensors metadata holds one key, `axis`, whose value is [`AxisMeta`] as JSON.

pub mod build;
mod file;
mod math;
mod persona_map;
mod plan;
pub mod stats;
#[cfg(test)]
mod test_axis;
pub mod threshold;

pub use file::{AxisError, AxisFile, AxisMeta, CapSetting, FORMAT_VERSION};
pub use math::{dot, norm, unit};
pub use persona_map::PersonaMap;
#[cfg(feature = "model")]
pub use plan::{AxisPlan, plan, plan_caps};
pub use plan::{CapOffer, CappingChoice};
pub use threshold::{Percentile, ThresholdBasis};
