//! The token heatmap's data: each answer token with its position on the axis, coloured on a
//! diverging scale (blue = Assistant side, orange = role-play side, white = the average role).
//! Pure logic; `components::message` draws it.

use crate::chart::ChartView;
use crate::conversation::TokenScores;

#[derive(Debug, Clone, PartialEq)]
pub struct HeatToken {
    pub text: String,
    pub value: f32,
}

/// The answer's tokens with the reading the chart shows. A token that added no text (half of a
/// multi-byte character) is merged into the next one, whose text completes the character; its
/// value is then the mean of the two. Non-finite values stay NaN and are drawn uncoloured.
pub fn tokens(scores: &TokenScores, view: ChartView) -> Vec<HeatToken> {
    let values = match view {
        ChartView::Text => &scores.text,
        ChartView::Activations => &scores.activations,
    };
    let mut out: Vec<HeatToken> = Vec::new();
    let (mut pending_sum, mut pending_n) = (0.0f32, 0u32);
    for (piece, value) in scores.pieces.iter().zip(values) {
        if piece.is_empty() {
            pending_sum += value;
            pending_n += 1;
            continue;
        }
        let value = (pending_sum + value) / (pending_n + 1) as f32;
        (pending_sum, pending_n) = (0.0, 0);
        out.push(HeatToken {
            text: piece.clone(),
            value,
        });
    }
    out
}

/// The colour scale's half-width: the largest |value| of the message, so that every message
/// uses its full range (the legend prints it), never 0.
pub fn scale(tokens: &[HeatToken]) -> f32 {
    let max = tokens
        .iter()
        .map(|t| t.value.abs())
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    if max > 0.0 { max } else { 1.0 }
}

/// Background colour of a token: white at 0, blue (#2856d8) at +scale, orange (#d9822b) at
/// −scale, linear in between; NaN is transparent.
pub fn colour(value: f32, scale: f32) -> String {
    if !value.is_finite() {
        return "transparent".to_owned();
    }
    let t = (value / scale).clamp(-1.0, 1.0);
    let (target, w) = if t >= 0.0 {
        ([0x28, 0x56, 0xd8], t)
    } else {
        ([0xd9, 0x82, 0x2b], -t)
    };
    let mix = |c: u8| (255.0 + (f32::from(c) - 255.0) * w).round() as u8;
    format!(
        "rgb({}, {}, {})",
        mix(target[0]),
        mix(target[1]),
        mix(target[2])
    )
}

/// Dark text on light backgrounds, white on saturated ones.
pub fn ink(value: f32, scale: f32) -> &'static str {
    if value.is_finite() && (value / scale).abs() > 0.6 {
        "#ffffff"
    } else {
        "#1b1f24"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores() -> TokenScores {
        TokenScores {
            pieces: vec!["Hi".into(), "".into(), " é".into(), "!".into()],
            activations: vec![1.0, 2.0, 4.0, -3.0],
            text: vec![0.5, 0.0, 0.0, -1.0],
        }
    }

    #[test]
    fn empty_pieces_merge_into_the_next_token_and_the_view_picks_the_reading() {
        let a = tokens(&scores(), ChartView::Activations);
        let texts: Vec<&str> = a.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hi", " é", "!"]);
        assert_eq!(
            a[1].value, 3.0,
            "mean of the half character and its completion"
        );
        assert_eq!(a[2].value, -3.0);
        let t = tokens(&scores(), ChartView::Text);
        assert_eq!(t[0].value, 0.5);
        assert_eq!(scale(&a), 3.0);
        assert_eq!(scale(&[]), 1.0);
    }

    #[test]
    fn colours_diverge_from_white() {
        assert_eq!(colour(0.0, 2.0), "rgb(255, 255, 255)");
        assert_eq!(colour(2.0, 2.0), "rgb(40, 86, 216)");
        assert_eq!(colour(-5.0, 2.0), "rgb(217, 130, 43)");
        assert_eq!(colour(f32::NAN, 2.0), "transparent");
        assert_eq!(ink(2.0, 2.0), "#ffffff");
        assert_eq!(ink(0.1, 2.0), "#1b1f24");
    }
}
