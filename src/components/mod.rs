//! UI components, one per file.

pub mod capping_panel;
pub mod chat_layout;
pub mod drift_chart;
pub mod explainer;
pub mod header;
pub mod message;
pub mod model_panel;
pub mod notice;
pub mod settings;
pub mod status_bar;
