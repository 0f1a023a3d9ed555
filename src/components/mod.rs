//! UI components, one per file.

pub mod chat_layout;
pub mod explainer;
pub mod header;
pub mod model_panel;
pub mod settings;
pub mod status_bar;
