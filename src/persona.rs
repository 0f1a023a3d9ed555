//! The persona map's data: the axis file's role vectors in PC1 × PC2, the default Assistant,
//! and the conversation's answers placed in the same frame, turn by turn. Pure logic;
//! `components::persona_map` draws it.

use crate::chart::ChartView;
use crate::conversation::{Column, Conversation};

/// The first system prompt of the role named `role` (the axis file stores role names), so that
/// clicking a role on the map puts one of the prompts its vector was computed from into the
/// system-prompt field; `None` for a role the lab's catalogue does not know (an axis file made
/// with other data).
pub fn system_prompt_for(role: &str) -> Option<String> {
    crate::lab_data::roles()
        .into_iter()
        .find(|r| r.name == role || r.id == role)
        .and_then(|r| r.system_prompts.into_iter().next())
}

/// One answer on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// 1-based turn number.
    pub turn: usize,
    pub column: Column,
    pub xy: [f32; 2],
    pub reply_id: u64,
}

/// Finished answers that have a persona position, in turn order, for the reading `view`.
pub fn answer_points(conversation: &Conversation, view: ChartView) -> Vec<MapPoint> {
    let mut out = Vec::new();
    for (i, turn) in conversation.turns.iter().enumerate() {
        for column in [Column::Default, Column::Capped] {
            let Some(reply) = turn.reply(column) else {
                continue;
            };
            if reply.streaming || reply.error.is_some() {
                continue;
            }
            let xy = reply.score.and_then(|s| match view {
                ChartView::Text => s.persona_text,
                ChartView::Activations => s.persona_activations,
            });
            if let Some(xy) = xy.filter(|p| p.iter().all(|v| v.is_finite())) {
                out.push(MapPoint {
                    turn: i + 1,
                    column,
                    xy,
                    reply_id: reply.id,
                });
            }
        }
    }
    out
}

/// The data rectangle [x0, x1] × [y0, y1] holding every point, padded by 8 % (and at least ±1
/// around a single point), so nothing sits on the frame.
pub fn bounds(points: impl IntoIterator<Item = [f32; 2]>) -> [f32; 4] {
    let mut b = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    for [x, y] in points
        .into_iter()
        .filter(|p| p.iter().all(|v| v.is_finite()))
    {
        b = [b[0].min(x), b[1].max(x), b[2].min(y), b[3].max(y)];
    }
    if !b[0].is_finite() {
        return [-1.0, 1.0, -1.0, 1.0];
    }
    let pad = |lo: f32, hi: f32| {
        let p = ((hi - lo) * 0.08).max(if hi > lo { 0.0 } else { 1.0 });
        (lo - p, hi + p)
    };
    let (x0, x1) = pad(b[0], b[1]);
    let (y0, y1) = pad(b[2], b[3]);
    [x0, x1, y0, y1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::AnswerScore;
    use crate::conversation::{Reply, Turn};

    fn answer(id: u64, persona: Option<[f32; 2]>) -> Reply {
        let mut r = Reply::streaming(id);
        r.streaming = false;
        r.content = "x".into();
        r.score = Some(AnswerScore {
            activations: 1.0,
            text: 1.0,
            cap_margin: None,
            persona_activations: persona.map(|[x, y]| [x + 10.0, y]),
            persona_text: persona,
        });
        r
    }

    #[test]
    fn answers_are_placed_by_the_chosen_reading_and_unplaced_ones_skipped() {
        let c = Conversation {
            turns: vec![
                Turn {
                    id: 1,
                    user: "a".into(),
                    default: answer(2, Some([1.0, 2.0])),
                    capped: Some(answer(3, None)),
                    capping: None,
                    steering: None,
                },
                Turn {
                    id: 4,
                    user: "b".into(),
                    default: Reply::streaming(5),
                    capped: Some(answer(6, Some([-1.0, 0.5]))),
                    capping: None,
                    steering: None,
                },
            ],
        };
        let text = answer_points(&c, ChartView::Text);
        assert_eq!(text.len(), 2);
        assert_eq!(
            (text[0].turn, text[0].column, text[0].xy),
            (1, Column::Default, [1.0, 2.0])
        );
        assert_eq!(
            (text[1].turn, text[1].column, text[1].reply_id),
            (2, Column::Capped, 6)
        );
        let act = answer_points(&c, ChartView::Activations);
        assert_eq!(act[0].xy, [11.0, 2.0]);
    }

    #[test]
    fn bounds_pad_the_points_and_survive_degenerate_input() {
        let b = bounds([[0.0, 0.0], [10.0, 5.0]]);
        let want = [-0.8, 10.8, -0.4, 5.4];
        assert!(
            b.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-5),
            "{b:?}"
        );
        assert_eq!(bounds([]), [-1.0, 1.0, -1.0, 1.0]);
        assert_eq!(bounds([[2.0, 3.0]]), [1.0, 3.0, 2.0, 4.0]);
        assert_eq!(bounds([[f32::NAN, 0.0]]), [-1.0, 1.0, -1.0, 1.0]);
    }

    #[test]
    fn the_shipped_axis_roles_have_system_prompts() {
        let p = system_prompt_for("dragon").expect("dragon");
        assert!(p.contains("dragon"), "{p}");
        assert_eq!(system_prompt_for("no such role"), None);
    }
}
