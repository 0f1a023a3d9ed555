//! The persona map's geometry: data → SVG coordinates, which roles get a label, and where each
//! label goes so that none overlaps another or leaves the map. Pure logic, tested natively;
//! `components::persona_map` draws it.

use crate::label_layout::{self, LabelRequest, Placement, Rect, TextAnchor, text_box};

pub const WIDTH: f32 = 480.0;
pub const HEIGHT: f32 = 340.0;
pub const PAD: f32 = 28.0;
/// Roles offered a label on the map (the most extreme on each side); the rest, and any whose
/// label finds no free room, show their name on hover.
const LABELLED_PER_SIDE: usize = 3;
/// Font sizes of the labels, as www/style.css sets them (`.persona-role-label`,
/// `.persona-default-label`, and larger under `html.classroom` for a projector).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSizes {
    pub role: f32,
    pub default: f32,
    /// `.chart-label`: the axis captions.
    pub caption: f32,
}

impl LabelSizes {
    pub const NORMAL: LabelSizes = LabelSizes {
        role: 9.0,
        default: 11.0,
        caption: 10.0,
    };
    pub const CLASSROOM: LabelSizes = LabelSizes {
        role: 12.0,
        default: 14.0,
        caption: 13.0,
    };
}

/// The axis captions, drawn by `components::persona_map` and kept clear by the labels.
pub const CAPTIONS: [(&str, Placement); 2] = [
    (
        "PC1 →",
        Placement {
            x: WIDTH - PAD,
            y: HEIGHT - 8.0,
            anchor: TextAnchor::End,
        },
    ),
    (
        "↑ PC2",
        Placement {
            x: 6.0,
            y: PAD - 8.0,
            anchor: TextAnchor::Start,
        },
    ),
];
pub const DEFAULT_LABEL: &str = "Assistant";
/// Sizes of the marks drawn by `components::persona_map`.
pub const STAR_RADIUS: f32 = 9.0;
pub const ROLE_DOT_RADIUS: f32 = 4.0;
pub const ANSWER_DOT_RADIUS: f32 = 7.0;

/// Below this cosine between PC1 and the Assistant Axis, the caption warns that left–right on
/// the map is not the axis (the paper finds them close in large models; small ones need not be).
const PC1_ALIGNED: f32 = 0.7;

/// The map's caption on what it shows: the layer, how much of the axis lies in the drawn plane
/// (the dashed arrow) and how well PC1 lines up with it. `axis_cos` = cos(axis, PC1), cos(axis,
/// PC2) at `layer` (0-based, of `n_layers`).
pub fn frame_caption(layer: usize, n_layers: usize, axis_cos: [f32; 2]) -> String {
    let [c1, c2] = axis_cos;
    let in_plane = (c1 * c1 + c2 * c2).sqrt().min(1.0);
    let reading = if c1.abs() >= PC1_ALIGNED {
        "so left to right on the map roughly follows the axis, as the paper finds in large models."
    } else {
        "so left to right on the map is not the Assistant Axis here (the paper finds the two close in large models): the chart's score, not a dot's position, says how Assistant-like an answer is."
    };
    format!(
        "Layer {layer} of {n_layers} (counted from 0; the layer answers are scored at). The dashed arrow is the Assistant Axis seen in this plane, from the roles' mean (+) to the default Assistant (★): {:.0} % of the axis lies in the plane, and PC1 lines up with it at cos {c1:.2}, {reading}",
        100.0 * in_plane
    )
}

/// Data → SVG coordinates for the rectangle `b` = [x0, x1, y0, y1] (y up).
#[derive(Clone, Copy, PartialEq)]
pub struct Scale(pub [f32; 4]);

impl Scale {
    pub fn x(self, v: f32) -> f32 {
        let [x0, x1, ..] = self.0;
        PAD + (v - x0) / (x1 - x0) * (WIDTH - 2.0 * PAD)
    }
    pub fn y(self, v: f32) -> f32 {
        let [_, _, y0, y1] = self.0;
        HEIGHT - PAD - (v - y0) / (y1 - y0) * (HEIGHT - 2.0 * PAD)
    }
}

/// Where the map's labels go for one scale: the Assistant's label first, then the labelled
/// roles, none overlapping another, the marks they label or the answers, none outside the frame.
#[derive(Clone, PartialEq)]
pub struct LabelPlan {
    pub default: Option<Placement>,
    /// (role index, placement) for each role label that found room.
    pub roles: Vec<(usize, Placement)>,
}

impl LabelPlan {
    pub fn new(
        s: Scale,
        sizes: LabelSizes,
        names: &[String],
        coords: &[[f32; 2]],
        labelled: &[usize],
        default: [f32; 2],
        answers: &[[f32; 2]],
    ) -> Self {
        let at = |xy: [f32; 2]| [s.x(xy[0]), s.y(xy[1])];
        let star = at(default);
        let mut requests = vec![LabelRequest {
            text: DEFAULT_LABEL.into(),
            at: star,
            mark_radius: STAR_RADIUS,
            font_size: sizes.default,
        }];
        let mut obstacles = vec![Rect::around(star[0], star[1], STAR_RADIUS)];
        // Role indices of requests[1..], in the same order.
        let mut requested = Vec::new();
        for &i in labelled {
            let (Some(name), Some(&xy)) = (names.get(i), coords.get(i)) else {
                continue;
            };
            requested.push(i);
            let p = at(xy);
            requests.push(LabelRequest {
                text: name.clone(),
                at: p,
                mark_radius: ROLE_DOT_RADIUS,
                font_size: sizes.role,
            });
            obstacles.push(Rect::around(p[0], p[1], ROLE_DOT_RADIUS));
        }
        obstacles.extend(answers.iter().map(|&xy| {
            let p = at(xy);
            Rect::around(p[0], p[1], ANSWER_DOT_RADIUS)
        }));
        obstacles.extend(
            CAPTIONS
                .iter()
                .map(|(text, p)| text_box(text, sizes.caption, *p)),
        );
        let frame = Rect {
            x0: 0.0,
            y0: 0.0,
            x1: WIDTH,
            y1: HEIGHT,
        };
        // The other role dots: covered only where a label has no other room.
        let background: Vec<Rect> = coords
            .iter()
            .enumerate()
            .filter(|(i, _)| !requested.contains(i))
            .map(|(_, &xy)| {
                let p = at(xy);
                Rect::around(p[0], p[1], ROLE_DOT_RADIUS)
            })
            .collect();
        let mut placed =
            label_layout::place_labels(&requests, frame, &obstacles, &background).into_iter();
        let default = placed.next().flatten();
        let roles = requested
            .iter()
            .zip(placed)
            .filter_map(|(&i, p)| p.map(|p| (i, p)))
            .collect();
        LabelPlan { default, roles }
    }

    pub fn role(&self, i: usize) -> Option<Placement> {
        self.roles.iter().find(|(j, _)| *j == i).map(|(_, p)| *p)
    }
}

/// Indices of the roles furthest out along ±PC1 and ±PC2, most extreme first (the first of each
/// side, then the second…), so that when room runs out the outermost roles keep their labels.
pub fn extremes(coords: &[[f32; 2]]) -> Vec<usize> {
    let sides: Vec<Vec<usize>> = (0..2)
        .flat_map(|axis| {
            let mut order: Vec<usize> = (0..coords.len()).collect();
            order.sort_by(|&a, &b| coords[a][axis].total_cmp(&coords[b][axis]));
            let low: Vec<usize> = order.iter().copied().take(LABELLED_PER_SIDE).collect();
            let high: Vec<usize> = order
                .iter()
                .copied()
                .rev()
                .take(LABELLED_PER_SIDE)
                .collect();
            [low, high]
        })
        .collect();
    let mut out = Vec::new();
    for rank in 0..LABELLED_PER_SIDE {
        for side in &sides {
            if let Some(&i) = side.get(rank).filter(|i| !out.contains(*i)) {
                out.push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_names_the_layer_and_how_much_of_the_axis_is_drawn() {
        let off = frame_caption(21, 30, [0.2, 0.55]);
        assert!(off.starts_with("Layer 21 of 30"), "{off}");
        // √(0.2² + 0.55²) = 0.585.
        assert!(off.contains("59 % of the axis"), "{off}");
        assert!(off.contains("cos 0.20"), "{off}");
        assert!(off.contains("is not the Assistant Axis here"), "{off}");
        let on = frame_caption(12, 30, [0.9, 0.1]);
        assert!(on.contains("roughly follows the axis"), "{on}");
    }

    #[test]
    fn extremes_take_the_outermost_of_each_side_first_without_repeats() {
        // Role 0 is the lowest on both axes; role 4 the highest on both.
        let coords = [
            [-5.0, -5.0],
            [-1.0, 0.0],
            [0.0, -1.0],
            [1.0, 1.5],
            [5.0, 5.0],
            [0.5, 0.2],
            [2.0, -0.5],
        ];
        let out = extremes(&coords);
        assert_eq!(&out[..2], &[0, 4], "{out:?}");
        let mut sorted = out.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), out.len(), "no role twice: {out:?}");
        assert!(out.len() <= 4 * LABELLED_PER_SIDE);
    }

    #[test]
    fn the_plan_keeps_every_label_inside_the_map() {
        let names: Vec<String> = (0..40)
            .map(|i| format!("a rather long role name {i}"))
            .collect();
        let coords: Vec<[f32; 2]> = (0..40)
            .map(|i| [(i % 7) as f32 - 3.0, (i / 7) as f32 - 3.0])
            .collect();
        let labelled = extremes(&coords);
        let s = Scale(crate::persona::bounds(coords.iter().copied()));
        let plan = |sizes| {
            LabelPlan::new(
                s,
                sizes,
                &names,
                &coords,
                &labelled,
                [3.0, 2.0],
                &[[0.0, 0.0]],
            )
        };
        let (normal, classroom) = (plan(LabelSizes::NORMAL), plan(LabelSizes::CLASSROOM));
        assert!(normal.default.is_some());
        assert!(!normal.roles.is_empty());
        // Larger text needs more room: never more labels than at the normal size.
        assert!(classroom.roles.len() <= normal.roles.len());
        for (_, p) in &classroom.roles {
            let b = text_box("a rather long role name 00", LabelSizes::CLASSROOM.role, *p);
            assert!(
                b.x0 >= 0.0 && b.x1 <= WIDTH && b.y0 >= 0.0 && b.y1 <= HEIGHT,
                "{p:?}"
            );
        }
    }
}
