//! Where to put short text labels beside points on an SVG chart so that no two overlap and none
//! leaves the frame. Greedy: labels are placed in the order given (most important first), each at
//! the first candidate position beside its point that fits; a label that fits nowhere is left
//! out (the chart shows it on hover instead). Pure logic, so it is tested natively; text width
//! is estimated from the character count because a pure function cannot measure glyphs.

/// An axis-aligned box in SVG user units, y down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    pub fn around(x: f32, y: f32, r: f32) -> Self {
        Rect {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn inside(&self, frame: &Rect) -> bool {
        self.x0 >= frame.x0 && self.x1 <= frame.x1 && self.y0 >= frame.y0 && self.y1 <= frame.y1
    }
}

/// SVG `text-anchor` of a placed label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAnchor {
    Start,
    Middle,
    End,
}

impl TextAnchor {
    pub fn as_svg(self) -> &'static str {
        match self {
            TextAnchor::Start => "start",
            TextAnchor::Middle => "middle",
            TextAnchor::End => "end",
        }
    }
}

/// A label to place: its text, the point it belongs to, the radius of that point's mark (the
/// label keeps clear of it) and the font size it is drawn at.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub text: String,
    pub at: [f32; 2],
    pub mark_radius: f32,
    pub font_size: f32,
}

/// Where a label's text goes: `x`, `y` (baseline) and anchor, as SVG `<text>` attributes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub x: f32,
    pub y: f32,
    pub anchor: TextAnchor,
}

/// Average glyph advance as a fraction of the font size. Sans-serif lower case averages about
/// 0.5 em; 0.58 leaves room for capitals and wide letters, so estimates err on the long side.
const ADVANCE_EM: f32 = 0.58;
const ASCENT_EM: f32 = 0.95;
const DESCENT_EM: f32 = 0.27;
/// Gap between the edge of a point's mark and its label, in SVG units.
const GAP: f32 = 2.0;

/// The estimated box of `text` at `font_size`, drawn at (x, baseline y) with `anchor`.
pub fn text_box(text: &str, font_size: f32, p: Placement) -> Rect {
    let width = text.chars().count() as f32 * font_size * ADVANCE_EM;
    let x0 = match p.anchor {
        TextAnchor::Start => p.x,
        TextAnchor::Middle => p.x - width / 2.0,
        TextAnchor::End => p.x - width,
    };
    // The font's line box, as browsers report it (getBBox): ≈ 0.93 em above the baseline and
    // 0.24 em below for DejaVu Sans / Arial; rounded up.
    Rect {
        x0,
        y0: p.y - ASCENT_EM * font_size,
        x1: x0 + width,
        y1: p.y + DESCENT_EM * font_size,
    }
}

/// Candidate positions around a point, in order of preference: right of it (the usual reading
/// direction), then left of it (for points near the right edge), then above and below.
fn candidates(label: &LabelRequest) -> [Placement; 8] {
    let ([x, y], f) = (label.at, label.font_size);
    let side = label.mark_radius + GAP;
    // Beside the mark the text sits a little above or below its centre line.
    let above = y - side + 1.0;
    let below = y + side + ASCENT_EM * f - 1.0;
    let level = y + 0.3 * f;
    let p = |x, y, anchor| Placement { x, y, anchor };
    [
        p(x + side, above, TextAnchor::Start),
        p(x + side, level, TextAnchor::Start),
        p(x + side, below, TextAnchor::Start),
        p(x - side, above, TextAnchor::End),
        p(x - side, level, TextAnchor::End),
        p(x - side, below, TextAnchor::End),
        p(x, y - side - DESCENT_EM * f, TextAnchor::Middle),
        p(x, y + side + ASCENT_EM * f, TextAnchor::Middle),
    ]
}

/// Places `labels` in order inside `frame`, avoiding one another and the `obstacles` (marks that
/// text must not cover). Where it can, a label also keeps off the `background` marks (say,
/// unlabelled points of a dense cloud); where it cannot, it may cover them. `None` for a label
/// that fits nowhere.
pub fn place_labels(
    labels: &[LabelRequest],
    frame: Rect,
    obstacles: &[Rect],
    background: &[Rect],
) -> Vec<Option<Placement>> {
    let mut taken: Vec<Rect> = obstacles.to_vec();
    labels
        .iter()
        .map(|label| {
            let options = candidates(label).map(|p| (p, text_box(&label.text, label.font_size, p)));
            let free = |b: &Rect, avoid_background: bool| {
                b.inside(&frame)
                    && !taken.iter().any(|t| t.overlaps(b))
                    && !(avoid_background && background.iter().any(|t| t.overlaps(b)))
            };
            let found = options
                .iter()
                .find(|(_, b)| free(b, true))
                .or_else(|| options.iter().find(|(_, b)| free(b, false)))
                .copied();
            found.map(|(p, b)| {
                taken.push(b);
                p
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Rect = Rect {
        x0: 0.0,
        y0: 0.0,
        x1: 200.0,
        y1: 100.0,
    };

    fn label(text: &str, x: f32, y: f32) -> LabelRequest {
        LabelRequest {
            text: text.into(),
            at: [x, y],
            mark_radius: 4.0,
            font_size: 10.0,
        }
    }

    fn boxes(labels: &[LabelRequest], placed: &[Option<Placement>]) -> Vec<Rect> {
        labels
            .iter()
            .zip(placed)
            .filter_map(|(l, p)| p.map(|p| text_box(&l.text, l.font_size, p)))
            .collect()
    }

    #[test]
    fn a_lone_label_goes_right_of_its_point() {
        let placed = place_labels(&[label("pirate", 50.0, 50.0)], FRAME, &[], &[]);
        assert_eq!(
            placed,
            vec![Some(Placement {
                x: 56.0,
                y: 45.0,
                anchor: TextAnchor::Start
            })]
        );
    }

    #[test]
    fn a_label_near_the_right_edge_flips_to_the_left() {
        let labels = [label("ancient Egyptian priest", 190.0, 50.0)];
        let placed = place_labels(&labels, FRAME, &[], &[]);
        let p = placed[0].expect("placed");
        assert_eq!(p.anchor, TextAnchor::End);
        assert!(boxes(&labels, &placed)[0].inside(&FRAME));
    }

    #[test]
    fn labels_of_close_points_do_not_overlap_and_stay_inside() {
        let labels = [
            label("five-year-old child", 100.0, 50.0),
            label("curious eight-year-old", 102.0, 52.0),
            label("Hope", 101.0, 49.0),
            label("motivational speaker", 99.0, 51.0),
        ];
        let wide = Rect {
            x1: 400.0,
            y1: 200.0,
            ..FRAME
        };
        let labels = labels.map(|mut l| {
            l.at[0] += 100.0;
            l
        });
        let placed = place_labels(&labels, wide, &[], &[]);
        let b = boxes(&labels, &placed);
        assert!(b.len() >= 3, "{placed:?}");
        for (i, a) in b.iter().enumerate() {
            assert!(a.inside(&wide), "{a:?}");
            for c in &b[i + 1..] {
                assert!(!a.overlaps(c), "{a:?} overlaps {c:?}");
            }
        }
    }

    #[test]
    fn obstacles_are_avoided_and_a_label_with_no_room_is_left_out() {
        let star = Rect::around(56.0 + 15.0, 45.0, 6.0);
        let placed = place_labels(&[label("pirate", 50.0, 50.0)], FRAME, &[star], &[]);
        let p = placed[0].expect("placed elsewhere");
        assert_ne!(
            (p.x, p.y),
            (56.0, 45.0),
            "not in its usual place, under the star"
        );
        let wall = Rect {
            x0: 0.0,
            y0: 0.0,
            x1: 200.0,
            y1: 100.0,
        };
        assert_eq!(
            place_labels(&[label("pirate", 50.0, 50.0)], FRAME, &[wall], &[]),
            vec![None]
        );
    }

    #[test]
    fn background_marks_are_avoided_when_there_is_room_and_covered_when_not() {
        let dot = Rect::around(75.0, 42.0, 4.0);
        let placed = place_labels(&[label("pirate", 50.0, 50.0)], FRAME, &[], &[dot]);
        let b = boxes(&[label("pirate", 50.0, 50.0)], &placed);
        assert!(!b[0].overlaps(&dot), "{placed:?}");
        // A background covering everything does not stop the label.
        let cloud = Rect {
            x0: 0.0,
            y0: 0.0,
            x1: 200.0,
            y1: 100.0,
        };
        let placed = place_labels(&[label("pirate", 50.0, 50.0)], FRAME, &[], &[cloud]);
        assert_eq!(placed[0].map(|p| (p.x, p.y)), Some((56.0, 45.0)));
    }

    #[test]
    fn text_boxes_grow_with_length_and_follow_the_anchor() {
        let at = |anchor| Placement {
            x: 100.0,
            y: 50.0,
            anchor,
        };
        let start = text_box("abcd", 10.0, at(TextAnchor::Start));
        let end = text_box("abcd", 10.0, at(TextAnchor::End));
        let mid = text_box("abcd", 10.0, at(TextAnchor::Middle));
        assert!((start.x1 - start.x0 - 23.2).abs() < 1e-4);
        assert_eq!(start.x0, 100.0);
        assert_eq!(end.x1, 100.0);
        assert!((mid.x0 + mid.x1 - 200.0).abs() < 1e-4);
        assert!(start.y0 < 50.0 && start.y1 > 50.0);
    }
}
