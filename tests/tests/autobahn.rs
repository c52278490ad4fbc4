//! Autobahn|Testsuite, the reference WebSocket conformance suite, against klient's blocking client:
//! `tests/autobahn/run.sh` installs wstest if needed, runs its fuzzing server against
//! `tests/src/bin/autobahn_client.rs` (built by cargo for this test) and fails on any FAILED or
//! NON-STRICT verdict.
//! About three minutes; see the script for the cases it runs.

use std::path::Path;
use std::process::Command;

#[test]
fn autobahn_fuzzing_server_finds_nothing() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("autobahn/run.sh");
    let output = Command::new(&script)
        .env("AUTOBAHN_CLIENT", env!("CARGO_BIN_EXE_autobahn_client"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The verdict counts per section, shown with --nocapture or on failure.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "Autobahn run failed ({}):\n{stdout}\n--- stderr (tail) ---\n{}",
        output.status,
        tail(&stderr, 60)
    );
    assert!(
        stdout.contains("section  1: OK"),
        "no verdicts for section 1:\n{stdout}"
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
