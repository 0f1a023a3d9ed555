//! The drift chart's data and geometry: one point per assistant answer per column, on a
//! vertical score scale (Assistant up, role-play down, 0 = an average persona). Pure logic; the
//! SVG is drawn by `components::drift_chart`.

use serde::{Deserialize, Serialize};

use crate::conversation::{Column, Conversation};

/// Which reading of an answer the chart shows (docs/design.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartView {
    /// The uncapped model re-reads each answer: where the *text* sits.
    Text,
    /// What the generating model had, after the cap: flat at the floor where capping bit.
    Activations,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// 1-based turn number.
    pub turn: usize,
    pub column: Column,
    pub score: f32,
    pub reply_id: u64,
    pub snippet: String,
}

/// Finished, scored answers in turn order; streaming, failed or unscored ones have no point.
pub fn points(conversation: &Conversation, view: ChartView) -> Vec<ChartPoint> {
    let mut out = Vec::new();
    for (i, turn) in conversation.turns.iter().enumerate() {
        for column in [Column::Default, Column::Capped] {
            let Some(reply) = turn.reply(column) else {
                continue;
            };
            let Some(score) = reply
                .score
                .filter(|_| !reply.streaming && reply.error.is_none())
            else {
                continue;
            };
            let value = match view {
                ChartView::Text => score.text,
                ChartView::Activations => score.activations,
            };
            if value.is_finite() {
                out.push(ChartPoint {
                    turn: i + 1,
                    column,
                    score: value,
                    reply_id: reply.id,
                    snippet: snippet(&reply.content, 80),
                });
            }
        }
    }
    out
}

/// Everything the drift chart draws, computed in one pass. The chart reads this one value
/// rather than a chain of derived values: with the points derived from the conversation and
/// the scale derived from the points, the page once kept drawing stale points after a turn
/// (the scale had not changed, and the points were not recomputed until the view was toggled).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartModel {
    pub points: Vec<ChartPoint>,
    /// Number of turns (the x scale), including turns without a point yet.
    pub turns: usize,
    /// Half the height of the score scale ([`half_range`]).
    pub half: f32,
    /// The cap's threshold on the score scale, and whether the monitor layer is capped (else
    /// the line is only a reference).
    pub threshold: Option<(f32, bool)>,
}

impl ChartModel {
    pub fn new(
        conversation: &Conversation,
        view: ChartView,
        threshold: Option<(f32, bool)>,
    ) -> ChartModel {
        let points = points(conversation, view);
        let half = half_range(&points, threshold.map(|t| t.0));
        ChartModel {
            points,
            turns: conversation.turns.len(),
            half,
            threshold,
        }
    }
}

/// The first `max_chars` characters on one line, with an ellipsis when cut.
pub fn snippet(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let cut: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// Half the height of the score scale: symmetric around 0 so that "0 = average persona" stays
/// in the middle, covering every point and the threshold, rounded up to a multiple of 0.5.
pub fn half_range(points: &[ChartPoint], threshold: Option<f32>) -> f32 {
    let largest = points
        .iter()
        .map(|p| p.score.abs())
        .chain(threshold.map(f32::abs))
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    ((largest * 1.1 / 0.5).ceil() * 0.5).max(1.0)
}

/// Plot geometry in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub right: f32,
    pub top: f32,
    pub bottom: f32,
}

impl Frame {
    /// y of `score` for a scale of ±`half` (Assistant at the top).
    pub fn y(&self, score: f32, half: f32) -> f32 {
        let mid = self.top + (self.height - self.top - self.bottom) / 2.0;
        let span = (self.height - self.top - self.bottom) / 2.0;
        mid - (score / half).clamp(-1.0, 1.0) * span
    }

    /// x of turn `turn` (1-based) of `turns`.
    pub fn x(&self, turn: usize, turns: usize) -> f32 {
        let inner = self.width - self.left - self.right;
        if turns <= 1 {
            return self.left + inner / 2.0;
        }
        self.left + inner * (turn.saturating_sub(1)) as f32 / (turns - 1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::AnswerScore;
    use crate::conversation::{Reply, Turn};

    fn scored(id: u64, text: &str, activations: f32, t: f32) -> Reply {
        Reply {
            id,
            content: text.into(),
            streaming: false,
            meta: None,
            error: None,
            score: Some(AnswerScore {
                activations,
                text: t,
                cap_margin: None,
                persona_activations: None,
                persona_text: None,
            }),
            tokens: None,
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            turns: vec![
                Turn {
                    id: 1,
                    user: "a".into(),
                    default: scored(2, "one", 1.0, 1.0),
                    capped: Some(scored(3, "two", 2.0, 0.5)),
                    capping: None,
                    steering: None,
                },
                Turn {
                    id: 4,
                    user: "b".into(),
                    default: scored(5, "three", -3.0, -3.0),
                    capped: None,
                    capping: None,
                    steering: None,
                },
            ],
        }
    }

    #[test]
    fn one_point_per_scored_answer_per_column_in_the_chosen_view() {
        let c = conversation();
        let act = points(&c, ChartView::Activations);
        let summary: Vec<(usize, Column, f32)> =
            act.iter().map(|p| (p.turn, p.column, p.score)).collect();
        assert_eq!(
            summary,
            vec![
                (1, Column::Default, 1.0),
                (1, Column::Capped, 2.0),
                (2, Column::Default, -3.0)
            ]
        );
        let text = points(&c, ChartView::Text);
        assert_eq!(text[1].score, 0.5);
    }

    #[test]
    fn streaming_failed_and_non_finite_answers_have_no_point() {
        let mut c = conversation();
        c.turns[0].default.streaming = true;
        if let Some(r) = c.turns[0].capped.as_mut() {
            r.error = Some("x".into());
        }
        if let Some(s) = c.turns[1].default.score.as_mut() {
            s.activations = f32::NAN;
        }
        assert!(points(&c, ChartView::Activations).is_empty());
    }

    #[test]
    fn the_model_has_every_point_the_turn_count_and_a_scale_covering_the_threshold() {
        let mut c = conversation();
        let model = ChartModel::new(&c, ChartView::Activations, Some((4.0, true)));
        assert_eq!(model.points.len(), 3);
        assert_eq!(model.turns, 2);
        assert_eq!(model.half, 4.5);
        // A new turn whose answers land inside the old scale still adds its points.
        c.turns.push(Turn {
            id: 6,
            user: "c".into(),
            default: scored(7, "four", 0.5, 0.5),
            capped: Some(scored(8, "five", 0.25, 0.25)),
            capping: None,
            steering: None,
        });
        let next = ChartModel::new(&c, ChartView::Activations, Some((4.0, true)));
        assert_eq!(next.half, model.half);
        assert_eq!(next.points.len(), 5);
        assert_eq!(next.turns, 3);
        assert_ne!(next, model);
    }

    #[test]
    fn snippets_are_one_line_and_cut_with_an_ellipsis() {
        assert_eq!(snippet("a\n b  c", 10), "a b c");
        assert_eq!(snippet("abcdefghijkl", 5), "abcd…");
    }

    #[test]
    fn the_scale_covers_points_and_threshold_symmetrically() {
        let pts = points(&conversation(), ChartView::Activations);
        assert_eq!(half_range(&pts, None), 3.5);
        assert_eq!(half_range(&pts, Some(-4.0)), 4.5);
        assert_eq!(half_range(&[], None), 1.0);
        let f = Frame {
            width: 100.0,
            height: 120.0,
            left: 10.0,
            right: 10.0,
            top: 10.0,
            bottom: 10.0,
        };
        assert_eq!(f.y(0.0, 2.0), 60.0);
        assert_eq!(f.y(2.0, 2.0), 10.0);
        assert_eq!(f.y(-9.0, 2.0), 110.0, "clamped to the frame");
        assert_eq!(f.x(1, 1), 50.0);
        assert_eq!(f.x(3, 3), 90.0);
    }
}
