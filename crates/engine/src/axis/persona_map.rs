//! The persona map: the role vectors in the plane of their first two principal components at
//! the monitor layer, with the default Assistant and the axis itself placed in the same frame
//! (centred on the mean role vector, as answers are placed by [`super::AxisPlan::persona`]).

use serde::{Deserialize, Serialize};

use super::file::AxisFile;
use super::math::dot;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaMap {
    pub roles: Vec<String>,
    /// One (PC1, PC2) per entry of `roles`.
    pub coords: Vec<[f32; 2]>,
    /// The default Assistant's mean, in the same coordinates.
    pub default: [f32; 2],
    /// Explained-variance ratio of PC1 and PC2.
    pub explained: [f32; 2],
    /// The layer the map shows (0-based; the monitor layer, where answers are scored) and the
    /// model's layer count, for the caption.
    pub layer: usize,
    pub n_layers: usize,
    /// The unit Assistant Axis in this frame: its cosine with PC1 and with PC2. Their
    /// root-sum-square is the share of the axis that lies in the drawn plane; the arrow from the
    /// roles' mean (the origin) to `default` is the axis itself seen in the plane.
    pub axis_cos: [f32; 2],
}

impl AxisFile {
    /// The map at the monitor layer; `None` when the file has fewer than two components or its
    /// role coordinates do not match its roles.
    pub fn persona_map(&self) -> Option<PersonaMap> {
        let m = &self.meta;
        let (k, layer) = (self.n_components, m.monitor_layer);
        let (pc1, pc2) = (self.pca_component(layer, 0)?, self.pca_component(layer, 1)?);
        let coords: Vec<[f32; 2]> = self
            .role_coords
            .chunks_exact(k)
            .map(|row| [row[0], row[1]])
            .collect();
        if coords.len() != m.roles.len() {
            return None;
        }
        let h = m.hidden;
        let default = self.default_mean.get(layer * h..(layer + 1) * h)?;
        let centre = self.role_mean_at(layer);
        let offset: Vec<f32> = default.iter().zip(centre).map(|(d, c)| d - c).collect();
        let explained = self.pca_explained.get(layer * k..layer * k + 2)?;
        let unit_axis = self.unit_axis(layer);
        Some(PersonaMap {
            roles: m.roles.clone(),
            coords,
            default: [dot(&offset, pc1), dot(&offset, pc2)],
            explained: [explained[0], explained[1]],
            layer,
            n_layers: m.n_layers,
            axis_cos: [dot(&unit_axis, pc1), dot(&unit_axis, pc2)],
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::axis::test_axis;

    #[test]
    fn the_persona_map_places_roles_and_the_default_in_the_pca_frame() {
        assert_eq!(
            test_axis::small().persona_map(),
            None,
            "one component: no map"
        );
        let map = test_axis::with_pca().persona_map().expect("two components");
        assert_eq!(map.roles.len(), 3);
        assert_eq!(map.coords, vec![[1.0, 0.0], [-1.0, 0.5], [0.0, -0.5]]);
        // (default − role mean) = (0.5, 1.5, −0.5) on e0, e1.
        assert_eq!(map.default, [0.5, 1.5]);
        assert_eq!(map.explained, [0.6, 0.3]);
        assert_eq!((map.layer, map.n_layers), (2, 4));
        // The axis at layer 2 is e2, orthogonal to both components: none of it is in the plane.
        assert_eq!(map.axis_cos, [0.0, 0.0]);
        let mut tilted = test_axis::with_pca();
        tilted.axis[6..9].copy_from_slice(&[3.0, 4.0, 0.0]);
        let map = tilted.persona_map().expect("two components");
        assert_eq!(map.axis_cos, [0.6, 0.8]);
    }
}
