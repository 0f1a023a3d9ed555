//! How many threads the page's CPU backend runs on, and how the page names it.
//!
//! `worker.js` picks the module: the threaded one (`dist/threads/`, rayon on Web Workers) where
//! the page is cross-origin isolated and the device has more than one core, else the
//! single-thread one; it records its choice in `self.axisCpuThreads` and, where it fell back,
//! says why in the console (docs/threads.md).

use engine::device::{MatvecShape, PromptPass, WebgpuShapes};

use super::protocol::Backend;

/// The most threads the page starts by itself: decoding this model is bound by memory bandwidth
/// well before that. `?threads=N` asks for more.
pub const MAX_AUTO_THREADS: u32 = 8;

/// Which build of the wasm module the inference worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerModule {
    /// The single-thread module (`dist/`): WebGPU, and the CPU backend on one thread.
    Full,
    /// The threaded module (`dist/threads/`): the CPU backend on this many threads, no WebGPU.
    CpuThreads(u32),
}

impl WorkerModule {
    /// The module for a model load on `backend`. Threads need shared memory, which browsers give
    /// only to a cross-origin isolated page; `asked` is the page's `?threads=N`, otherwise every
    /// core up to [`MAX_AUTO_THREADS`].
    pub fn for_backend(
        backend: Backend,
        isolated: bool,
        cores: u32,
        asked: Option<u32>,
    ) -> WorkerModule {
        let threads = asked.unwrap_or(cores.clamp(1, MAX_AUTO_THREADS));
        match backend {
            Backend::Cpu if isolated && threads > 1 => WorkerModule::CpuThreads(threads),
            _ => WorkerModule::Full,
        }
    }

    /// The worker script's query string, which `worker.js` reads, with the WebGPU shapes a test
    /// asked for (read by the worker when it makes its WebGPU device).
    pub fn script_query(self, asked: AskedWebgpuShapes) -> String {
        let mut params = Vec::new();
        if let WorkerModule::CpuThreads(n) = self {
            params.push(format!("threads={n}"));
        }
        if let Some(shape) = asked.matvec {
            params.push(format!("{MATVEC_PARAM}={}", shape.name()));
        }
        if let Some(pass) = asked.prompt {
            params.push(format!("{PROMPT_PASS_PARAM}={}", pass.name()));
        }
        if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        }
    }
}

/// The page address's parameter that asks for a mat-vec shape ([`MatvecShape::name`]).
const MATVEC_PARAM: &str = "matvec";
/// The page address's parameter that asks for a prompt pass ([`PromptPass::name`]).
const PROMPT_PASS_PARAM: &str = "prompt-pass";

/// How the WebGPU device's work is shaped where a test or the bench asked (`?matvec=`,
/// `?prompt-pass=` in the page's address, passed on in the worker's); whatever is not asked for
/// the worker chooses from its adapter. Lets CI, which has only SwiftShader, run a GPU's shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AskedWebgpuShapes {
    /// The mat-vec's shape asked for.
    pub matvec: Option<MatvecShape>,
    /// The prompt pass asked for.
    pub prompt: Option<PromptPass>,
}

impl AskedWebgpuShapes {
    /// What a query string (`?a=b&…`) asks for; unknown names ask for nothing.
    pub fn from_query(query: &str) -> AskedWebgpuShapes {
        AskedWebgpuShapes {
            matvec: query_param(query, MATVEC_PARAM).and_then(|n| MatvecShape::from_name(&n)),
            prompt: query_param(query, PROMPT_PASS_PARAM).and_then(|n| PromptPass::from_name(&n)),
        }
    }

    /// The shapes asked for, where both were.
    pub fn both(self) -> Option<WebgpuShapes> {
        Some(WebgpuShapes {
            matvec: self.matvec?,
            prompt: self.prompt?,
        })
    }

    /// The shapes asked for, `otherwise`'s where one was not.
    pub fn or(self, otherwise: WebgpuShapes) -> WebgpuShapes {
        WebgpuShapes {
            matvec: self.matvec.unwrap_or(otherwise.matvec),
            prompt: self.prompt.unwrap_or(otherwise.prompt),
        }
    }
}

/// The value of parameter `name` in a query string (`?a=b&c=d`), percent-decoded as the
/// browser's `URLSearchParams` would (the page's and the worker's addresses are read alike, and
/// natively in tests); the first one where a name repeats.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The CPU backend's name in the status bar and the model panel, e.g. "CPU (burn flex, wasm,
/// 2 threads)". The bench reads the thread count from it.
pub fn cpu_label(threads: u32) -> String {
    match threads {
        0 | 1 => "CPU (burn flex, wasm, 1 thread)".to_owned(),
        n => format!("CPU (burn flex, wasm, {n} threads)"),
    }
}

/// A thread count asked for in the page's URL (`?threads=N`): a whole number from 1 to 64.
pub fn parse_threads(value: &str) -> Option<u32> {
    value.trim().parse().ok().filter(|n| (1..=64).contains(n))
}

/// What `worker.js` recorded: the pool's size (1 for the single-thread module).
#[cfg(target_arch = "wasm32")]
pub fn cpu_threads() -> u32 {
    js_sys::Reflect::get(&js_sys::global(), &"axisCpuThreads".into())
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|n| n.is_finite() && *n >= 1.0)
        .map_or(1, |n| n.min(f64::from(u32::MAX)) as u32)
}

/// What the page knows about threads here: whether it is cross-origin isolated, the cores the
/// browser reports, and the `?threads=N` it was opened with.
#[cfg(target_arch = "wasm32")]
pub fn environment() -> (bool, u32, Option<u32>) {
    let Some(window) = web_sys::window() else {
        return (false, 1, None);
    };
    let isolated = js_sys::Reflect::get(&window, &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let cores = window.navigator().hardware_concurrency();
    let cores = if cores.is_finite() && cores >= 1.0 {
        cores.min(f64::from(u32::MAX)) as u32
    } else {
        1
    };
    let asked = query_param(&page_query(), "threads").and_then(|value| parse_threads(&value));
    (isolated, cores, asked)
}

/// The page's query string (`?…`), empty where there is none.
#[cfg(target_arch = "wasm32")]
pub fn page_query() -> String {
    web_sys::window()
        .and_then(|window| window.location().search().ok())
        .unwrap_or_default()
}

/// [`WorkerModule::for_backend`] in this page.
#[cfg(target_arch = "wasm32")]
pub fn module_for(backend: Backend) -> WorkerModule {
    let (isolated, cores, asked) = environment();
    WorkerModule::for_backend(backend, isolated, cores, asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_only_for_the_cpu_in_an_isolated_page_with_cores_to_use() {
        use WorkerModule::*;
        let m = WorkerModule::for_backend;
        assert_eq!(m(Backend::Cpu, true, 4, None), CpuThreads(4));
        assert_eq!(
            m(Backend::Cpu, true, 32, None),
            CpuThreads(MAX_AUTO_THREADS)
        );
        assert_eq!(m(Backend::Cpu, true, 32, Some(12)), CpuThreads(12));
        assert_eq!(m(Backend::Cpu, true, 4, Some(1)), Full);
        assert_eq!(m(Backend::Cpu, true, 1, None), Full);
        assert_eq!(m(Backend::Cpu, false, 4, None), Full);
        assert_eq!(m(Backend::Cpu, false, 4, Some(4)), Full);
        assert_eq!(m(Backend::WebGpu, true, 4, None), Full);
        let none = AskedWebgpuShapes::default();
        assert_eq!(CpuThreads(3).script_query(none), "?threads=3");
        assert_eq!(Full.script_query(none), "");
        let gpu = AskedWebgpuShapes {
            matvec: Some(MatvecShape::Cooperative),
            prompt: Some(PromptPass::Batched),
        };
        assert_eq!(
            Full.script_query(gpu),
            "?matvec=cooperative&prompt-pass=batched"
        );
        let matvec_only = AskedWebgpuShapes {
            matvec: Some(MatvecShape::RowPerUnit),
            prompt: None,
        };
        assert_eq!(
            CpuThreads(2).script_query(matvec_only),
            "?threads=2&matvec=row-per-unit"
        );
    }

    #[test]
    fn the_worker_reads_back_the_shapes_the_page_passed_on() {
        for asked in [
            AskedWebgpuShapes::default(),
            AskedWebgpuShapes {
                matvec: Some(MatvecShape::Cooperative),
                prompt: Some(PromptPass::Batched),
            },
            AskedWebgpuShapes {
                matvec: None,
                prompt: Some(PromptPass::TokenByToken),
            },
        ] {
            let query = WorkerModule::CpuThreads(2).script_query(asked);
            assert_eq!(AskedWebgpuShapes::from_query(&query), asked, "{query}");
        }
        assert_eq!(
            AskedWebgpuShapes::from_query("?matvec=fast&prompt-pass="),
            AskedWebgpuShapes::default()
        );
        // What was not asked for comes from the adapter; asking for both needs no adapter.
        let software = WebgpuShapes::for_adapter(true);
        let prompt_only = AskedWebgpuShapes::from_query("?prompt-pass=batched");
        assert_eq!(prompt_only.both(), None);
        assert_eq!(
            prompt_only.or(software),
            WebgpuShapes {
                matvec: MatvecShape::RowPerUnit,
                prompt: PromptPass::Batched,
            }
        );
        let gpu = AskedWebgpuShapes::from_query("?matvec=cooperative&prompt-pass=batched");
        assert_eq!(gpu.both(), Some(WebgpuShapes::for_adapter(false)));
        assert_eq!(gpu.or(software), WebgpuShapes::for_adapter(false));
        assert_eq!(query_param("?threads=2&x=1", "x").as_deref(), Some("1"));
        assert_eq!(query_param("threads=2", "threads").as_deref(), Some("2"));
        // A name without a value reads as empty, as in the browser (no count: `parse_threads`).
        assert_eq!(query_param("?threads", "threads").as_deref(), Some(""));
        assert_eq!(query_param("", "threads"), None);
        assert_eq!(
            query_param(
                "?prompt-pass=token%2Dby%2Dtoken&threads=2&threads=3",
                "prompt-pass"
            )
            .as_deref(),
            Some("token-by-token")
        );
        assert_eq!(
            query_param("?threads=2&threads=3", "threads").as_deref(),
            Some("2")
        );
    }

    #[test]
    fn names_one_thread_and_many() {
        assert_eq!(cpu_label(1), "CPU (burn flex, wasm, 1 thread)");
        assert_eq!(cpu_label(0), "CPU (burn flex, wasm, 1 thread)");
        assert_eq!(cpu_label(4), "CPU (burn flex, wasm, 4 threads)");
    }

    #[test]
    fn reads_only_sensible_thread_counts() {
        assert_eq!(parse_threads("1"), Some(1));
        assert_eq!(parse_threads(" 4 "), Some(4));
        assert_eq!(parse_threads("64"), Some(64));
        for bad in ["0", "65", "-2", "2.5", "", "many", "1e3"] {
            assert_eq!(parse_threads(bad), None, "{bad:?}");
        }
    }
}
