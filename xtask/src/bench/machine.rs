//! The machine a bench ran on and how busy it was. Recorded with every report because the
//! numbers mean nothing without them; kept apart because it reads `/proc`, not peer output.

use crate::process::output_of;

pub(super) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub(super) fn machine_description() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |s| s.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or("?".to_owned(), |kib| {
            format!("{:.1}", kib / 1024.0 / 1024.0)
        });
    vec![
        format!("{cpu}, {cores} logical CPUs available, {mem_gib} GiB RAM"),
        output_of("uname", &["-srm"]).unwrap_or_default(),
        output_of("rustc", &["-V"]).unwrap_or_default(),
        output_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
    ]
}
