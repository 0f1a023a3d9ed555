//! What the browser offers, checked without the engine: WebGPU and the model file.

pub mod model_file;
pub mod webgpu;
