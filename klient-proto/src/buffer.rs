//! Handing bytes from a machine's buffer to the caller's.

/// Moves `pending` bytes to the end of `out`. An empty `out` trades buffers with `pending`
/// instead of copying, so that both keep their capacity: a loop that drains a machine into its
/// outbox then allocates nothing, and copies each byte once fewer. `true` when bytes moved.
pub(crate) fn move_pending(pending: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    if pending.is_empty() {
        return false;
    }
    if out.is_empty() {
        std::mem::swap(pending, out);
    } else {
        out.extend_from_slice(pending);
        pending.clear();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_outbox_trades_buffers_and_a_busy_one_is_appended_to() {
        let mut pending = Vec::with_capacity(64);
        pending.extend_from_slice(b"abc");
        let mut out = Vec::with_capacity(32);
        let out_capacity = out.capacity();
        assert!(move_pending(&mut pending, &mut out));
        assert_eq!(out, b"abc");
        assert!(pending.is_empty());
        assert_eq!(pending.capacity(), out_capacity, "the outbox's old buffer, kept");
        pending.extend_from_slice(b"de");
        assert!(move_pending(&mut pending, &mut out));
        assert_eq!(out, b"abcde");
        assert!(
            pending.is_empty() && pending.capacity() >= 2,
            "cleared, capacity kept"
        );
        assert!(!move_pending(&mut pending, &mut out), "nothing to move");
        assert_eq!(out, b"abcde");
    }
}
