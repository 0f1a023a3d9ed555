//! The numbers taken from peers' JSON lines: medians over runs, per (peer, variant) rows, and
//! how a number prints in a table. Kept apart from the tables so that every table and every
//! target verdict reads a peer's rate the same way.

use std::collections::BTreeMap;

use serde_json::Value;

use super::peer::PeerRun;

pub(super) fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

pub(super) fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// Medians over runs of one (peer, variant).
pub(super) struct Row {
    pub(super) label: String,
    pub(super) runs: usize,
    pub(super) prefill: Option<f64>,
    pub(super) decode: Option<f64>,
    pub(super) prefill_cpu: Option<f64>,
    pub(super) decode_cpu: Option<f64>,
    pub(super) decode_s: Option<f64>,
    pub(super) rss_mib: Option<f64>,
}

pub(super) fn rows(run: &PeerRun) -> Vec<(String, Row)> {
    let Ok(lines) = &run.outcome else {
        return Vec::new();
    };
    let mut by_variant: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut order = Vec::new();
    for l in lines {
        let v = l
            .get("variant")
            .and_then(Value::as_str)
            .unwrap_or("plain")
            .to_owned();
        if !order.contains(&v) {
            order.push(v.clone());
        }
        by_variant.entry(v).or_default().push(l);
    }
    order
        .into_iter()
        .map(|variant| {
            let ls = &by_variant[&variant];
            let col = |k: &str| median(ls.iter().filter_map(|l| f(l, k)).collect());
            let per_cpu = |tokens: &str, secs: &str| {
                median(
                    ls.iter()
                        .filter_map(|l| Some(f(l, tokens)? / f(l, secs)?))
                        .collect(),
                )
            };
            let label = if variant == "plain" {
                run.name.clone()
            } else {
                format!("{} + {variant}", run.name)
            };
            let row = Row {
                label,
                runs: ls.len(),
                prefill: col("prefill_tok_s"),
                decode: col("decode_tok_s"),
                prefill_cpu: per_cpu("prompt_tokens", "prefill_cpu_s"),
                decode_cpu: per_cpu("new_tokens", "decode_cpu_s"),
                decode_s: col("decode_s"),
                rss_mib: ls
                    .iter()
                    .filter_map(|l| f(l, "peak_rss_kib"))
                    .reduce(f64::max)
                    .map(|k| k / 1024.0),
            };
            (variant, row)
        })
        .collect()
}

pub(super) fn fmt(x: Option<f64>, digits: usize) -> String {
    x.map_or("—".to_owned(), |x| format!("{x:.digits$}"))
}

pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    }
}

pub(super) fn med(r: &PeerRun, k: &str) -> Option<f64> {
    median(
        r.outcome
            .as_ref()
            .map(|ls| ls.iter().filter_map(|l| f(l, k)).collect())
            .unwrap_or_default(),
    )
}

pub(super) fn browser_decode(runs: &[PeerRun], name: &str) -> Option<f64> {
    runs.iter()
        .find(|r| r.name == name)
        .and_then(|r| med(r, "decode_tok_s"))
}

/// The faster of the two wllama peers' median decode rates, with its name.
pub(super) fn best_wllama_decode(runs: &[PeerRun]) -> Option<(&str, f64)> {
    ["wllama-1t", "wllama-mt"]
        .into_iter()
        .filter_map(|n| Some((n, browser_decode(runs, n)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}
