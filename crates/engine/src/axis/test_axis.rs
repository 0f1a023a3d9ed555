//! Small synthetic axis files for the axis module's tests: numbers easy to follow by hand.

use super::threshold::Percentile;
use super::{AxisFile, AxisMeta, CapSetting, FORMAT_VERSION};

/// A small synthetic axis file (4 layers, width 3) whose numbers are easy to follow.
pub fn small() -> AxisFile {
    let (l, h) = (4, 3);
    let levels = vec![Percentile::whole(25), Percentile::whole(50)];
    AxisFile {
        meta: AxisMeta {
            format_version: FORMAT_VERSION,
            model_id: "tiny".into(),
            model_sha256: "00".repeat(32),
            n_layers: l,
            hidden: h,
            monitor_layer: 2,
            cap: CapSetting {
                first_layer: 1,
                last_layer: 3,
                percentile: Percentile::whole(25),
            },
            percentile_levels: levels.clone(),
            roles: vec![],
            validation: serde_json::Value::Null,
            build: serde_json::Value::Null,
        },
        // Axis at layer l points along e_(l mod 3), scaled by 2 (unit() must normalise it).
        axis: (0..l * h)
            .map(|i| if i % h == (i / h) % h { 2.0 } else { 0.0 })
            .collect(),
        default_mean: vec![0.0; l * h],
        // The role mean sits at 0.5 along every axis: centre = 0.5 at every layer.
        role_mean: vec![0.5; l * h],
        default_percentiles: vec![0.0; l * levels.len()],
        role_percentiles: vec![-1.0; l * levels.len()],
        // τ(layer, 25) = layer + 0.25, τ(layer, 50) = layer + 0.5.
        all_percentiles: Some(
            (0..l)
                .flat_map(|layer| [layer as f32 + 0.25, layer as f32 + 0.5])
                .collect(),
        ),
        n_components: 1,
        pca_components: vec![0.0; l * h],
        pca_explained: vec![0.0; l],
        role_coords: vec![],
    }
}

/// The test axis with two PCA components at every layer (PC1 = e0, PC2 = e1) and three
/// roles; the default mean sits at (1, 2, 0).
pub fn with_pca() -> AxisFile {
    let mut a = small();
    let (l, h, k) = (4, 3, 2);
    a.n_components = k;
    a.pca_components = (0..l)
        .flat_map(|_| [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
        .collect();
    a.pca_explained = (0..l).flat_map(|_| [0.6, 0.3]).collect();
    a.meta.roles = vec!["pirate".into(), "ghost".into(), "poet".into()];
    a.role_coords = vec![1.0, 0.0, -1.0, 0.5, 0.0, -0.5];
    a.default_mean = (0..l).flat_map(|_| [1.0, 2.0, 0.0]).collect();
    assert_eq!(a.pca_components.len(), l * k * h);
    a
}
