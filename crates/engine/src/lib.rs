//! The engine: everything between a GGUF file and a scored, possibly capped, generation.
//! It knows nothing about the browser; the web app and the axis lab both drive it.
pub mod axis;
pub mod chat;
pub mod chat_template;
pub mod device;
pub mod generation;
pub mod model;
pub mod tokenizer;
/// The GGUF reader (currently the model layer's reader, re-exported here for the other layers).
pub mod gguf {
    pub use crate::model::gguf::*;
}
