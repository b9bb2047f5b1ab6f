//! What the benches read about a server process from `/proc`: resident memory, CPU time and
//! the open-file limit.

/// Resident memory, in KiB.
#[allow(dead_code)]
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .expect("VmRSS of the server")
}

/// CPU seconds (user + system, every thread) a process used so far.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// The open-file limit of a process: `(soft, hard)`.
#[allow(dead_code)]
pub fn open_files(pid: u32) -> (u64, u64) {
    let line = std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let field = |i: usize| line.split_whitespace().nth(i).and_then(|v| v.parse().ok());
    (field(3).unwrap_or(1024), field(4).unwrap_or(1024))
}
