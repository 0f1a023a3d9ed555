//! UI components, one per file.

pub mod axis_build_panel;
pub mod byo_panel;
pub mod capping_panel;
pub mod chat_layout;
pub mod classroom;
pub mod drift_chart;
pub mod explainer;
pub mod header;
pub mod message;
pub mod model_panel;
pub mod notice;
pub mod persona_map;
pub mod presets_panel;
pub mod settings;
pub mod share_menu;
pub mod shortcuts;
pub mod status_bar;
pub mod tour;
