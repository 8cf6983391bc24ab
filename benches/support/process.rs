//! What the benchmarks read of the processes they run: ports, memory, the shared fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared` (or `GEP_BOT_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("GEP_BOT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A memory figure of process `pid` in KB, from `/proc/PID/status`: `VmRSS:` (now) or `VmHWM:`
/// (its peak); `pid` may be `"self"`'s number or any child's.
pub fn status_kb(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
