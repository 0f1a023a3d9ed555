//! The persona map: the axis file's role vectors in PC1 × PC2 (monitor layer), the default
//! Assistant marked, and the conversation's answers drawn as one path per column. Clicking a
//! role puts one of its system prompts into the system-prompt field. SVG view nodes only.

use leptos::prelude::*;

use crate::chart::ChartView;
use crate::conversation::Column;
use crate::extras::Extras;
use crate::label_layout::Placement;
use crate::persona::{self, MapPoint};
use crate::persona_layout::{
    ANSWER_DOT_RADIUS, CAPTIONS, DEFAULT_LABEL, HEIGHT, LabelPlan, LabelSizes, PAD,
    ROLE_DOT_RADIUS, STAR_RADIUS, Scale, WIDTH, extremes, frame_caption,
};
use crate::session::AppState;

#[component]
pub fn PersonaMap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let map = Memo::new(move |_| {
        state
            .axis
            .with(|a| a.as_ref().and_then(|a| a.persona.clone()))
    });
    move || map.get().map(|m| view! { <MapView map=m /> })
}

#[component]
fn MapView(map: engine::axis::PersonaMap) -> impl IntoView {
    let state = expect_context::<AppState>();
    let roles = map.roles.clone();
    let coords = map.coords.clone();
    let default = map.default;
    let labelled = extremes(&coords);
    // Classroom mode enlarges the labels (www/style.css), so they are placed at that size.
    let classroom = use_context::<Extras>().map(|e| e.classroom);
    // The answers' points change only when an answer is done, not with every streamed token:
    // this memo stops the label layout below from being redone per token (it runs on the
    // page's thread, which shares the machine's cores with the worker writing the answer).
    let answers = Memo::new(move |_| {
        let view = state.chart_view.get();
        state.conversation.with(|c| persona::answer_points(c, view))
    });
    // One derived value for the map's answers, scale and label plan, and the views read only
    // it: a view reading both a derived value and one derived from it is how the drift chart
    // once kept drawing stale points (`chart::ChartModel`).
    let layout = {
        let (roles, coords) = (roles.clone(), map.coords.clone());
        Memo::new(move |_| {
            let answers = answers.get();
            let fixed = coords.iter().copied().chain([default]);
            let scale = Scale(persona::bounds(fixed.chain(answers.iter().map(|p| p.xy))));
            let xy: Vec<[f32; 2]> = answers.iter().map(|p| p.xy).collect();
            let sizes = if classroom.is_some_and(|c| c.get()) {
                LabelSizes::CLASSROOM
            } else {
                LabelSizes::NORMAL
            };
            let plan = LabelPlan::new(scale, sizes, &roles, &coords, &labelled, default, &xy);
            MapLayout {
                answers,
                scale,
                plan,
            }
        })
    };
    let role_dots = {
        let coords = map.coords.clone();
        move || {
            let (s, plan) = layout.with(|l| (l.scale, l.plan.clone()));
            roles
                .iter()
                .zip(&coords)
                .enumerate()
                .map(|(i, (name, xy))| role_dot(state, name.clone(), *xy, s, plan.role(i)))
                .collect_view()
        }
    };
    let default_mark = move || {
        let (s, label) = layout.with(|l| (l.scale, l.plan.default));
        let (x, y) = (s.x(default[0]), s.y(default[1]));
        let label = label.map(|p| {
            view! {
                <text class="persona-default-label" x=p.x y=p.y text-anchor=p.anchor.as_svg()>
                    {DEFAULT_LABEL}
                </text>
            }
        });
        view! {
            <g data-testid="persona-default">
                <path class="persona-default" d=star(x, y, STAR_RADIUS)>
                    <title>"The default Assistant (mean of its answers)"</title>
                </path>
                {label}
            </g>
        }
    };
    // The axis in this plane runs from the roles' mean (the PCA's origin) to the default
    // Assistant's mean: axis = default mean − role mean, projected like everything else.
    let axis_arrow = move || {
        let s = layout.with(|l| l.scale);
        let (x0, y0, x1, y1) = (s.x(0.0), s.y(0.0), s.x(default[0]), s.y(default[1]));
        view! {
            <g data-testid="persona-axis">
                <line class="persona-axis" x1=x0 y1=y0 x2=x1 y2=y1 marker-end="url(#persona-axis-head)">
                    <title>"The Assistant Axis, projected on this plane: from the roles' mean to the default Assistant"</title>
                </line>
                <path class="persona-origin" d=format!("M{:.1},{y0:.1}H{:.1}M{x0:.1},{:.1}V{:.1}", x0 - 5.0, x0 + 5.0, y0 - 5.0, y0 + 5.0)>
                    <title>"The mean of the role vectors (the map's origin)"</title>
                </path>
            </g>
        }
    };
    let caption = frame_caption(map.layer, map.n_layers, map.axis_cos);
    let paths = move || {
        let (s, pts) = layout.with(|l| (l.scale, l.answers.clone()));
        [Column::Default, Column::Capped]
            .into_iter()
            .map(|column| {
                let mine: Vec<MapPoint> =
                    pts.iter().filter(|p| p.column == column).cloned().collect();
                let line = mine
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", s.x(p.xy[0]), s.y(p.xy[1])))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! {
                    <g class=format!("persona-path series-{}", column.key())>
                        <polyline class="chart-line" points=line />
                        {mine.into_iter().map(|p| answer_dot(p, s)).collect_view()}
                    </g>
                }
            })
            .collect_view()
    };
    let [e1, e2] = map.explained;
    view! {
        <section class="persona-map" data-testid="persona-map">
            <header class="drift-header">
                <h2>"Persona map"</h2>
                <span class="muted">
                    {format!("{} roles · PC1 {:.0} % × PC2 {:.0} % of their variance · ", map.roles.len(), 100.0 * e1, 100.0 * e2)}
                    {move || match state.chart_view.get() {
                        ChartView::Text => "answers as the uncapped model reads them",
                        ChartView::Activations => "answers as the answering model had them",
                    }}
                </span>
            </header>
            <svg class="persona-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-label="Role vectors and this conversation's answers on the first two principal components">
                <line class="chart-axis" x1=PAD x2=WIDTH - PAD y1=HEIGHT - PAD y2=HEIGHT - PAD />
                <line class="chart-axis" x1=PAD x2=PAD y1=PAD y2=HEIGHT - PAD />
                {CAPTIONS
                    .map(|(text, p)| {
                        view! {
                            <text class="chart-label" x=p.x y=p.y text-anchor=p.anchor.as_svg()>
                                {text}
                            </text>
                        }
                    })
                    .collect_view()}
                <defs>
                    <marker id="persona-axis-head" viewBox="0 0 10 10" refX="9" refY="5"
                        markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path class="persona-axis-head" d="M0,0L10,5L0,10Z" />
                    </marker>
                </defs>
                {role_dots}
                {axis_arrow}
                {default_mark}
                {paths}
            </svg>
            <p class="muted persona-hint">
                "Grey dots are the roles the axis was computed from; click one to use its system prompt. "
                "Numbered dots are this conversation's answers, turn by turn. Each grey dot averages one role's answers; a single answer scatters more widely, so it can land outside the cloud."
            </p>
            <p class="muted persona-hint" data-testid="persona-frame">{caption}</p>
        </section>
    }
}

/// Where the map puts this conversation's answers, its scale and its labels.
#[derive(Clone, PartialEq)]
struct MapLayout {
    answers: Vec<MapPoint>,
    scale: Scale,
    plan: LabelPlan,
}

fn role_dot(
    state: AppState,
    name: String,
    xy: [f32; 2],
    s: Scale,
    label: Option<Placement>,
) -> impl IntoView {
    let (x, y) = (s.x(xy[0]), s.y(xy[1]));
    let prompt = persona::system_prompt_for(&name);
    let known = prompt.is_some();
    let tip = if known {
        format!("{name} — click to use its system prompt")
    } else {
        name.clone()
    };
    let pick = {
        let name = name.clone();
        move || {
            if let Some(p) = prompt.clone() {
                state.system_prompt.set(p);
                state.notice.set(Some(format!(
                    "System prompt set to the “{name}” role (see the settings under the chat). Your next message is answered in that role."
                )));
            }
        }
    };
    let pick_key = pick.clone();
    let (data_role, aria) = (name.clone(), tip.clone());
    let label = label.map(|p| {
        view! {
            <text class="persona-role-label" data-testid="persona-role-label" x=p.x y=p.y
                text-anchor=p.anchor.as_svg()>{name}</text>
        }
    });
    view! {
        <g class="persona-role" data-testid="persona-role" data-role=data_role
            role="button" tabindex=if known { "0" } else { "-1" } aria-label=aria
            on:click=move |_| pick()
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    pick_key();
                }
            }
        >
            <circle class="persona-role-dot" cx=x cy=y r=ROLE_DOT_RADIUS><title>{tip}</title></circle>
            {label}
        </g>
    }
}

fn answer_dot(p: MapPoint, s: Scale) -> impl IntoView {
    let (x, y) = (s.x(p.xy[0]), s.y(p.xy[1]));
    let tip = format!(
        "Turn {} · {} · PC1 {:+.2}, PC2 {:+.2}",
        p.turn,
        p.column.label(),
        p.xy[0],
        p.xy[1]
    );
    view! {
        <g data-testid="persona-answer" data-column=p.column.key() data-turn=p.turn.to_string()>
            <circle class="chart-point" cx=x cy=y r=ANSWER_DOT_RADIUS><title>{tip}</title></circle>
            <text class="persona-turn" x=x y=y + 3.5 text-anchor="middle">{p.turn.to_string()}</text>
        </g>
    }
}

/// A five-pointed star centred on (x, y).
fn star(x: f32, y: f32, r: f32) -> String {
    let mut d = String::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { r * 0.45 };
        let angle = std::f32::consts::PI * (i as f32 / 5.0 - 0.5);
        let (px, py) = (x + radius * angle.cos(), y + radius * angle.sin());
        d.push_str(&format!(
            "{}{px:.1},{py:.1} ",
            if i == 0 { "M" } else { "L" }
        ));
    }
    d.push('Z');
    d
}
