// `wait_until!`, for every scenario module (included by `mod.rs` and by binaries that run a few
// of the modules).

/// Re-evaluates `$check` (an expression that may use `w!` and `?` on `Option`) every 100 ms
/// until it gives `Some`, failing with `$what` after `$timeout`.
macro_rules! wait_until {
    ($what:expr, $timeout:expr, $check:expr $(,)?) => {{
        let what = $what;
        let timeout: std::time::Duration = $timeout;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            #[allow(clippy::redundant_closure_call, unused_braces)]
            let checked = async { $check }.await;
            if let Some(value) = checked {
                break value;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}"
            );
            pause!(std::time::Duration::from_millis(100));
        }
    }};
}
