//! The engine: everything between a GGUF file and a scored, possibly capped, generation.
//! It knows nothing about the browser; the web app and the axis lab both drive it.
