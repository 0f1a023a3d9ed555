//! The engine: everything between a GGUF file and a scored, possibly capped, generation.
//! It knows nothing about the browser; the web app and the axis lab both drive it.
pub mod axis;
pub mod chat;
pub mod chat_template;
pub mod device;
pub mod generation;
pub mod gguf;
pub mod model;
pub mod tokenizer;
