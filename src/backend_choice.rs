//! Which backend to offer, by measurement rather than by assumption: the decode speed each
//! backend reached in this browser (kept in the preferences) decides, and the page offers to
//! switch when the one in use is clearly the slower. A backend the person picked in the select
//! is never switched away from by itself. Pure logic; `components::model_panel` shows it and
//! `session` records the speeds.

use serde::{Deserialize, Serialize};

use crate::worker::protocol::Backend;

/// What the browser's WebGPU offers, as far as choosing a backend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuOffer {
    /// The adapter request has not answered yet.
    Checking,
    /// No WebGPU, or no adapter.
    Nothing,
    /// Only a software fallback adapter (SwiftShader): it emulates the GPU on the CPU through
    /// many small dispatches and decodes far slower than the CPU backend (docs/benchmarks.md:
    /// 0.2 vs 25 tokens/s on the same machine).
    Software,
    Hardware,
}

/// The backend the model panel offers: the visitor's remembered choice, except WebGPU in a
/// browser without an adapter; with no choice yet, WebGPU only on a hardware adapter, else
/// the CPU. www/page-loader.js makes the same guess before the app starts (to choose the
/// module it downloads): keep the two in step.
pub fn default_backend(remembered: Option<Backend>, gpu: GpuOffer) -> Backend {
    match (remembered, gpu) {
        (Some(Backend::WebGpu), GpuOffer::Nothing) => Backend::Cpu,
        (Some(choice), _) => choice,
        (None, GpuOffer::Hardware) => Backend::WebGpu,
        (None, _) => Backend::Cpu,
    }
}

/// The other backend must be this much faster before the page prefers or offers it: timings of
/// a few answers vary by tens of percent.
const CLEARLY_FASTER: f32 = 1.5;
/// Below this, WebGPU is slower than this page's CPU backend on any machine we measured (the CPU
/// path decodes ≈ 25 tokens/s on a 2-core machine, docs/benchmarks.md), so the CPU is worth a try
/// even before it has been timed here.
const SLOW_WEBGPU: f32 = 5.0;
/// Answers shorter than this say little about the decode rate.
const MIN_TOKENS: usize = 4;

/// Decode rates (tokens/s after the first token) measured in this browser, per backend, each
/// an average that follows the latest answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeasuredSpeed {
    pub webgpu: Option<f32>,
    pub cpu: Option<f32>,
}

impl MeasuredSpeed {
    pub fn of(&self, backend: Backend) -> Option<f32> {
        match backend {
            Backend::WebGpu => self.webgpu,
            Backend::Cpu => self.cpu,
        }
        .filter(|v| v.is_finite() && *v > 0.0)
    }

    /// Folds in one answer's rate (half old, half new: recent answers count most).
    pub fn record(&mut self, backend: Backend, rate: f32) {
        if !(rate.is_finite() && rate > 0.0) {
            return;
        }
        let blended = self.of(backend).map_or(rate, |old| 0.5 * old + 0.5 * rate);
        match backend {
            Backend::WebGpu => self.webgpu = Some(blended),
            Backend::Cpu => self.cpu = Some(blended),
        }
    }
}

/// The decode rate of one answer: tokens after the first over the time after the first token
/// (the first holds the prompt's prefill). `None` for answers too short to time.
pub fn decode_rate(tokens: usize, seconds: f64, first_token_seconds: Option<f64>) -> Option<f32> {
    let first = first_token_seconds?;
    (tokens >= MIN_TOKENS && seconds > first)
        .then(|| ((tokens - 1) as f64 / (seconds - first)) as f32)
}

pub fn other(backend: Backend) -> Backend {
    match backend {
        Backend::WebGpu => Backend::Cpu,
        Backend::Cpu => Backend::WebGpu,
    }
}

pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::WebGpu => "WebGPU",
        Backend::Cpu => "CPU",
    }
}

/// An offer to switch, with the reason in words.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchOffer {
    pub to: Backend,
    pub why: String,
}

/// After an answer on `current`: is the other backend likely faster here?
pub fn advice(current: Backend, speeds: &MeasuredSpeed, gpu: GpuOffer) -> Option<SwitchOffer> {
    let to = other(current);
    if to == Backend::WebGpu && matches!(gpu, GpuOffer::Nothing | GpuOffer::Checking) {
        return None;
    }
    match (speeds.of(current), speeds.of(to)) {
        (Some(now), Some(there)) if there >= CLEARLY_FASTER * now => Some(SwitchOffer {
            to,
            why: format!(
                "In this browser the {} backend wrote {there:.1} tokens/s and {} {now:.1}.",
                name(to),
                name(current)
            ),
        }),
        (Some(now), None) if current == Backend::WebGpu && now < SLOW_WEBGPU => Some(SwitchOffer {
            to,
            why: format!(
                "WebGPU writes {now:.1} tokens/s here; this page's CPU backend is usually faster than that (about 25 tokens/s on a 2-core machine)."
            ),
        }),
        _ => None,
    }
}

/// The backend the model panel preselects, and why when measurements decided it. The person's
/// own pick (`explicit`) stands; otherwise the clearly faster measured backend; otherwise the
/// usual rule ([`default_backend`]).
pub fn preselect(
    remembered: Option<Backend>,
    explicit: bool,
    gpu: GpuOffer,
    speeds: &MeasuredSpeed,
) -> (Backend, Option<String>) {
    let usual = default_backend(remembered, gpu);
    if explicit {
        return (usual, None);
    }
    let (Some(webgpu), Some(cpu)) = (speeds.of(Backend::WebGpu), speeds.of(Backend::Cpu)) else {
        return (usual, None);
    };
    let faster = if webgpu >= CLEARLY_FASTER * cpu && gpu == GpuOffer::Hardware {
        Backend::WebGpu
    } else if cpu >= CLEARLY_FASTER * webgpu {
        Backend::Cpu
    } else {
        return (usual, None);
    };
    let why = format!(
        "{} is preselected because it was faster in this browser ({:.1} tokens/s against {:.1} on {}); choose the other to override.",
        name(faster),
        speeds.of(faster).unwrap_or(0.0),
        speeds.of(other(faster)).unwrap_or(0.0),
        name(other(faster))
    );
    (faster, Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webgpu_is_preselected_only_on_a_hardware_adapter() {
        use GpuOffer::*;
        assert_eq!(default_backend(None, Hardware), Backend::WebGpu);
        for offer in [Software, Nothing, Checking] {
            assert_eq!(default_backend(None, offer), Backend::Cpu, "{offer:?}");
        }
        // A remembered choice stands, also WebGPU on a software adapter (the visitor asked)...
        for offer in [Hardware, Software, Checking] {
            assert_eq!(
                default_backend(Some(Backend::WebGpu), offer),
                Backend::WebGpu
            );
        }
        for offer in [Hardware, Software, Nothing, Checking] {
            assert_eq!(default_backend(Some(Backend::Cpu), offer), Backend::Cpu);
        }
        // ...except WebGPU where there is none.
        assert_eq!(
            default_backend(Some(Backend::WebGpu), Nothing),
            Backend::Cpu
        );
    }

    #[test]
    fn rates_leave_out_the_first_token_and_short_answers() {
        // 11 tokens, the first after 1 s, all after 3 s: 10 tokens in 2 s.
        assert_eq!(decode_rate(11, 3.0, Some(1.0)), Some(5.0));
        assert_eq!(decode_rate(3, 3.0, Some(1.0)), None);
        assert_eq!(decode_rate(11, 1.0, Some(1.0)), None);
        assert_eq!(decode_rate(11, 3.0, None), None);
        let mut s = MeasuredSpeed::default();
        s.record(Backend::Cpu, 20.0);
        s.record(Backend::Cpu, 10.0);
        s.record(Backend::Cpu, f32::NAN);
        assert_eq!(s.of(Backend::Cpu), Some(15.0));
        assert_eq!(s.of(Backend::WebGpu), None);
    }

    #[test]
    fn slow_webgpu_is_offered_the_cpu_and_measurements_decide_the_rest() {
        let hw = GpuOffer::Hardware;
        let mut s = MeasuredSpeed::default();
        s.record(Backend::WebGpu, 0.2);
        let offer = advice(Backend::WebGpu, &s, hw).expect("slow WebGPU");
        assert_eq!(offer.to, Backend::Cpu);
        assert!(offer.why.contains("0.2 tokens/s"), "{}", offer.why);
        // A fast GPU is left alone until the CPU has been timed.
        let fast = MeasuredSpeed {
            webgpu: Some(60.0),
            cpu: None,
        };
        assert_eq!(advice(Backend::WebGpu, &fast, hw), None);
        // Both timed: the clearly faster one is offered, from either side.
        let both = MeasuredSpeed {
            webgpu: Some(60.0),
            cpu: Some(20.0),
        };
        assert_eq!(
            advice(Backend::Cpu, &both, hw).map(|o| o.to),
            Some(Backend::WebGpu)
        );
        assert_eq!(advice(Backend::WebGpu, &both, hw), None);
        // Close rates: no offer either way.
        let close = MeasuredSpeed {
            webgpu: Some(24.0),
            cpu: Some(20.0),
        };
        assert_eq!(advice(Backend::Cpu, &close, hw), None);
        assert_eq!(advice(Backend::WebGpu, &close, hw), None);
        // No WebGPU in this browser: never offered.
        assert_eq!(advice(Backend::Cpu, &both, GpuOffer::Nothing), None);
    }

    #[test]
    fn the_faster_backend_is_preselected_unless_the_person_chose() {
        let s = MeasuredSpeed {
            webgpu: Some(0.2),
            cpu: Some(25.0),
        };
        let (b, why) = preselect(Some(Backend::WebGpu), false, GpuOffer::Hardware, &s);
        assert_eq!(b, Backend::Cpu);
        assert!(why.expect("reason").contains("25.0 tokens/s against 0.2"));
        // The person's explicit pick wins.
        assert_eq!(
            preselect(Some(Backend::WebGpu), true, GpuOffer::Hardware, &s),
            (Backend::WebGpu, None)
        );
        // Unmeasured: the usual rule.
        assert_eq!(
            preselect(None, false, GpuOffer::Hardware, &MeasuredSpeed::default()),
            (Backend::WebGpu, None)
        );
        // A GPU measured faster is preselected only where a hardware adapter exists.
        let gpu_fast = MeasuredSpeed {
            webgpu: Some(80.0),
            cpu: Some(25.0),
        };
        assert_eq!(
            preselect(None, false, GpuOffer::Hardware, &gpu_fast).0,
            Backend::WebGpu
        );
        assert_eq!(
            preselect(None, false, GpuOffer::Software, &gpu_fast).0,
            Backend::Cpu
        );
    }
}
