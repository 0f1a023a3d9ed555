//! Choosing where tensors live: burn's CPU backend everywhere, WebGPU in the browser.

use std::sync::atomic::{AtomicBool, Ordering};

pub use burn::tensor::Device;

/// burn's pure-Rust CPU backend (`flex`): native tests, the lab, and the browser fallback.
pub fn cpu() -> Device {
    Device::flex()
}

/// How many kernel launches the wgpu runtime queues before it submits them. Its default (32)
/// cut a decode step (about 400 launches) into 14 queue submits, each a round trip through the
/// browser's GPU process; 1024 holds a whole step, capped twin included, so a token costs one
/// submit (the readback's). The price: the GPU starts a step only once all of it is encoded,
/// which on a step this small costs less than the submits did.
#[cfg(webgpu)]
const TASKS_PER_SUBMIT: usize = 1024;

/// How the quantized mat-vec spreads a matrix's rows over a cube's 64 units.
///
/// The two shapes suit different WebGPU adapters ([`WebgpuShapes::for_adapter`]), and the
/// worker's one device has one adapter for its whole life, so the shape is chosen once, when
/// the device is made (`webgpu`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatvecShape {
    /// 16 rows per cube, 4 units per row, each unit every fourth word of its row; one barrier
    /// adds a row's four partial sums. Several units per short row is how GPU mat-vec kernels
    /// usually spread the work (more loads in flight per row); the numbers are not tuned on a
    /// GPU, as none has run them yet. For hardware adapters.
    Cooperative,
    /// 64 rows per cube, one unit per row, which keeps its whole sum: no shared memory and no
    /// barrier. SwiftShader runs a cube that has a barrier as one coroutine per four units and
    /// switches between them at every barrier, which cost it a third of a decode step
    /// (docs/webgpu-decode.md). RMSNorm runs in its own kernel before a normed mat-vec
    /// rather than inside every row's sum. For software adapters, which emulate a GPU on the
    /// CPU.
    RowPerUnit,
}

impl MatvecShape {
    /// Its name in a page address (`?matvec=`), which tests use to run either shape.
    pub fn name(self) -> &'static str {
        match self {
            MatvecShape::Cooperative => "cooperative",
            MatvecShape::RowPerUnit => "row-per-unit",
        }
    }

    /// The shape named `name` ([`MatvecShape::name`]).
    pub fn from_name(name: &str) -> Option<MatvecShape> {
        [MatvecShape::Cooperative, MatvecShape::RowPerUnit]
            .into_iter()
            .find(|shape| shape.name() == name)
    }
}

/// How a prompt of several tokens runs through quantized weights on the WebGPU device.
///
/// Chosen with the mat-vec's shape, once per device, from the same fact about the adapter
/// ([`WebgpuShapes::for_adapter`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptPass {
    /// All of the prompt's tokens in one forward, through burn's general kernels (matmul,
    /// attention with a mask): about 2,300 dispatches whatever the prompt's length. For
    /// hardware adapters, where a matmul over many rows is what a GPU does best; not yet
    /// measured on one.
    Batched,
    /// One forward per token, each through the engine's one-token kernels (model/gpu.rs):
    /// about 215 dispatches per token. On SwiftShader burn's matmul and attention kernels ran
    /// a prompt at about half the rate our kernels decode (docs/webgpu-decode.md). For
    /// software adapters.
    TokenByToken,
}

impl PromptPass {
    /// Its name in a page address (`?prompt-pass=`), which tests and the bench use to run
    /// either pass.
    pub fn name(self) -> &'static str {
        match self {
            PromptPass::Batched => "batched",
            PromptPass::TokenByToken => "token-by-token",
        }
    }

    /// The pass named `name` ([`PromptPass::name`]).
    pub fn from_name(name: &str) -> Option<PromptPass> {
        [PromptPass::Batched, PromptPass::TokenByToken]
            .into_iter()
            .find(|pass| pass.name() == name)
    }
}

/// How the WebGPU device shapes the engine's kernels' work: both chosen from one fact about
/// the adapter ([`WebgpuShapes::for_adapter`]), once per device, for its whole life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebgpuShapes {
    /// How the quantized mat-vec spreads rows over a cube.
    pub matvec: MatvecShape,
    /// How a prompt of several tokens runs.
    pub prompt: PromptPass,
}

impl WebgpuShapes {
    /// The shapes for a hardware adapter (a GPU) or a software one, which emulates a GPU on
    /// the CPU (SwiftShader; WebGPU's `isFallbackAdapter`).
    pub fn for_adapter(software: bool) -> WebgpuShapes {
        if software {
            WebgpuShapes {
                matvec: MatvecShape::RowPerUnit,
                prompt: PromptPass::TokenByToken,
            }
        } else {
            WebgpuShapes {
                matvec: MatvecShape::Cooperative,
                prompt: PromptPass::Batched,
            }
        }
    }
}

/// This module's WebGPU device's shapes (one device per page or worker), as two flags: the
/// mat-vec reads them at every launch. A GPU's shapes until set.
static ROW_PER_UNIT: AtomicBool = AtomicBool::new(false);
static TOKEN_BY_TOKEN: AtomicBool = AtomicBool::new(false);

/// Sets the shapes of the WebGPU device (done by [`webgpu`]; tests set them directly).
pub fn set_webgpu_shapes(shapes: WebgpuShapes) {
    ROW_PER_UNIT.store(shapes.matvec == MatvecShape::RowPerUnit, Ordering::Relaxed);
    TOKEN_BY_TOKEN.store(shapes.prompt == PromptPass::TokenByToken, Ordering::Relaxed);
}

/// The shapes of the WebGPU device.
pub fn webgpu_shapes() -> WebgpuShapes {
    WebgpuShapes {
        matvec: if ROW_PER_UNIT.load(Ordering::Relaxed) {
            MatvecShape::RowPerUnit
        } else {
            MatvecShape::Cooperative
        },
        prompt: if TOKEN_BY_TOKEN.load(Ordering::Relaxed) {
            PromptPass::TokenByToken
        } else {
            PromptPass::Batched
        },
    }
}

/// The browser's WebGPU adapter through burn's wgpu runtime, the engine's kernels shaped as
/// `shapes`. The runtime can be initialised once per page (or worker); later calls return an
/// error that says so, so callers keep the device they got.
#[cfg(webgpu)]
pub async fn webgpu(shapes: WebgpuShapes) -> Result<Device, String> {
    set_webgpu_shapes(shapes);
    Device::wgpu_options()
        .tasks_max(TASKS_PER_SUBMIT)
        .init_async()
        .await
        .map_err(|e| format!("WebGPU could not be initialised: {e}"))
}

/// The threaded wasm module has no WebGPU (build.rs says why): the page loads WebGPU models in
/// the other module, so this only answers a page that asked the wrong one.
#[cfg(all(target_arch = "wasm32", not(webgpu)))]
pub async fn webgpu(_shapes: WebgpuShapes) -> Result<Device, String> {
    Err("this engine module is the threaded CPU one and has no WebGPU; reload the page".to_owned())
}

#[cfg(test)]
mod tests {
    use super::{MatvecShape, PromptPass, WebgpuShapes, set_webgpu_shapes, webgpu_shapes};

    #[test]
    fn a_software_adapter_gets_the_barrier_free_mat_vec_and_prompts_token_by_token() {
        let software = WebgpuShapes::for_adapter(true);
        assert_eq!(software.matvec, MatvecShape::RowPerUnit);
        assert_eq!(software.prompt, PromptPass::TokenByToken);
        let gpu = WebgpuShapes::for_adapter(false);
        assert_eq!(gpu.matvec, MatvecShape::Cooperative);
        assert_eq!(gpu.prompt, PromptPass::Batched);
        // The device's shapes read back as set (the only test that sets them in this binary).
        for shapes in [software, gpu] {
            set_webgpu_shapes(shapes);
            assert_eq!(webgpu_shapes(), shapes);
        }
    }

    #[test]
    fn shape_names_round_trip_and_unknown_names_are_refused() {
        for shape in [MatvecShape::Cooperative, MatvecShape::RowPerUnit] {
            assert_eq!(MatvecShape::from_name(shape.name()), Some(shape));
        }
        assert_eq!(MatvecShape::from_name("fast"), None);
        assert_eq!(MatvecShape::from_name(""), None);
        for pass in [PromptPass::Batched, PromptPass::TokenByToken] {
            assert_eq!(PromptPass::from_name(pass.name()), Some(pass));
        }
        assert_eq!(PromptPass::from_name("row-per-unit"), None);
    }
}
