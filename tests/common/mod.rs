//! Helpers shared by the integration tests: where the shared fixtures are, and the binary.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared` (or `GEP_BOT_SHARED`). A test that needs it fails loudly when it is missing:
/// CI must never pass by silently skipping the real corpus.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("GEP_BOT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("SPEC.md").is_file(),
        "shared fixtures not found at {}: set GEP_BOT_SHARED to the shared/ folder",
        dir.display()
    );
    dir
}

pub fn corpus() -> PathBuf {
    shared().join("fixtures/gateway-api/geps")
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gep-bot"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
