//! The drift chart: one point per answer per column, Assistant up and role-play down, the
//! cap's threshold as a dashed line. Built from SVG view nodes (never markup strings); each
//! point has a `<title>` tooltip and scrolls to its message on click.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::chart::{ChartModel, ChartPoint, ChartView, Frame};
use crate::conversation::Column;
use crate::session::AppState;

const FRAME: Frame = Frame {
    width: 320.0,
    height: 300.0,
    left: 40.0,
    right: 14.0,
    top: 22.0,
    bottom: 36.0,
};

#[component]
pub fn DriftChart() -> impl IntoView {
    let state = expect_context::<AppState>();
    // One derived value for the whole chart (see `chart::ChartModel` for why not several).
    let model = Memo::new(move |_| {
        let view = state.chart_view.get();
        let threshold = state.axis.with(|axis| {
            let axis = axis.as_ref()?;
            let band = state.capping.with(|c| c.band)?;
            Some((
                axis.capping.monitor_floor(band.percentile)?,
                band.contains(axis.monitor_layer),
            ))
        });
        state
            .conversation
            .with(|c| ChartModel::new(c, view, threshold))
    });

    let view_button = move |view: ChartView, label: &'static str, testid: &'static str| {
        view! {
            <button type="button" class="segment" data-testid=testid
                aria-pressed=move || (state.chart_view.get() == view).to_string()
                on:click=move |_| state.chart_view.set(view)
            >{label}</button>
        }
    };

    let grid = move || {
        let h = model.with(|m| m.half);
        let (x0, x1) = (FRAME.left, FRAME.width - FRAME.right);
        let y0 = FRAME.y(0.0, h);
        view! {
            <line class="chart-zero" x1=x0 x2=x1 y1=y0 y2=y0 />
            <line class="chart-axis" x1=x0 x2=x0 y1=FRAME.top y2=FRAME.height - FRAME.bottom />
            <text class="chart-label" x=x0 - 4.0 y=FRAME.y(h, h) + 4.0 text-anchor="end">{format!("{h:+.1}")}</text>
            <text class="chart-label" x=x0 - 4.0 y=y0 + 4.0 text-anchor="end">"0"</text>
            <text class="chart-label" x=x0 - 4.0 y=FRAME.y(-h, h) + 4.0 text-anchor="end">{format!("{:+.1}", -h)}</text>
            <text class="chart-end" x=x0 + 4.0 y=FRAME.top - 8.0>"↑ Assistant"</text>
            <text class="chart-end" x=x0 + 4.0 y=FRAME.height - 3.0>"↓ role-play"</text>
        }
    };
    // Turn numbers under the plot (every turn while they fit, else every k-th).
    let turn_ticks = move || {
        let n = model.with(|m| m.turns);
        let step = n.div_ceil(10).max(1);
        (1..=n)
            .filter(|t| (t - 1) % step == 0 || *t == n)
            .map(|t| {
                view! {
                    <text class="chart-label" x=FRAME.x(t, n) y=FRAME.height - FRAME.bottom + 13.0 text-anchor="middle">{t.to_string()}</text>
                }
            })
            .collect_view()
    };

    let threshold_line = move || {
        let (threshold, half) = model.with(|m| (m.threshold, m.half));
        threshold.map(|(t, in_band)| {
            let y = FRAME.y(t, half);
            let label = if in_band { "cap τ" } else { "cap τ (reference)" };
            view! {
                <g data-testid="chart-threshold" data-threshold=t.to_string()>
                    <line class="chart-threshold" x1=FRAME.left x2=FRAME.width - FRAME.right y1=y y2=y />
                    <text class="chart-label" x=FRAME.width - FRAME.right y=y - 4.0 text-anchor="end">{label}</text>
                </g>
            }
        })
    };

    let series = move || {
        let (pts, n, h) = model.with(|m| (m.points.clone(), m.turns.max(1), m.half));
        [Column::Default, Column::Capped]
            .into_iter()
            .map(|column| {
                let mine: Vec<ChartPoint> =
                    pts.iter().filter(|p| p.column == column).cloned().collect();
                let path = mine
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", FRAME.x(p.turn, n), FRAME.y(p.score, h)))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! {
                    <g class=format!("series series-{}", column.key())>
                        <polyline class="chart-line" points=path />
                        {mine.into_iter().map(|p| point(p, n, h)).collect_view()}
                    </g>
                }
            })
            .collect_view()
    };

    view! {
        <aside class="drift" data-testid="drift-chart">
            <header class="drift-header">
                <h2>"Drift"</h2>
                <div class="segments" role="group" aria-label="Which reading to plot">
                    {view_button(ChartView::Text, "Text", "view-text")}
                    {view_button(ChartView::Activations, "Activations", "view-activations")}
                </div>
            </header>
            <svg class="drift-svg" viewBox=format!("0 0 {} {}", FRAME.width, FRAME.height) role="img"
                aria-label="Axis score of each answer, turn by turn">
                {grid}
                {turn_ticks}
                {threshold_line}
                {series}
            </svg>
            <p class="drift-legend muted">
                <span class="swatch swatch-default"></span>" Default "
                <span class="swatch swatch-capped"></span>" Capped · "
                {move || match state.chart_view.get() {
                    ChartView::Text => "Text: the uncapped model re-reads each answer.",
                    ChartView::Activations => "Activations: what the answering model had, after the cap.",
                }}
            </p>
        </aside>
    }
}

fn point(p: ChartPoint, turns: usize, half: f32) -> impl IntoView {
    let id = p.reply_id;
    let tip = format!(
        "Turn {} · {} · score {:+.2}\n{}",
        p.turn,
        p.column.label(),
        p.score,
        p.snippet
    );
    let label = tip.replace('\n', ": ");
    view! {
        <circle class="chart-point" data-testid="chart-point"
            data-column=p.column.key() data-turn=p.turn.to_string() data-score=p.score.to_string()
            cx=FRAME.x(p.turn, turns) cy=FRAME.y(p.score, half) r="6"
            tabindex="0"
            role="button"
            aria-label=label
            on:click=move |_| scroll_to(id)
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    scroll_to(id);
                }
            }
        >
            <title>{tip}</title>
        </circle>
    }
}

/// Brings answer `id` into view in its column and marks it, so the eye finds which of the
/// messages on screen the point was.
fn scroll_to(id: u64) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(marked) = document.query_selector_all("[data-highlight]") {
        for i in 0..marked.length() {
            if let Some(el) = marked
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                let _ = el.remove_attribute("data-highlight");
            }
        }
    }
    if let Some(el) = document.get_element_by_id(&format!("msg-{id}")) {
        el.scroll_into_view();
        let _ = el.set_attribute("data-highlight", "true");
    }
}
