//! Arbitrary bytes, arbitrarily split, into the JSON watch-event decoder: it must never panic,
//! and what it yields must not depend on how the stream was split.
#![no_main]

use klient_proto::watch::{DecodeError, EventDecoder, WatchEvent};
use libfuzzer_sys::fuzz_target;

type Outcome = Result<WatchEvent<serde_json::Value>, DecodeError>;

fn decode(stream: &[u8], max: usize, mut next_chunk: impl FnMut() -> usize) -> Vec<Outcome> {
    let mut decoder = EventDecoder::with_max_event_size(max);
    let mut outcomes = Vec::new();
    let mut rest = stream;
    loop {
        loop {
            match decoder.poll_event() {
                Ok(None) => break,
                Ok(Some(event)) => outcomes.push(Ok(event)),
                Err(error) => outcomes.push(Err(error)),
            }
        }
        if decoder.is_finished() {
            return outcomes;
        }
        if rest.is_empty() {
            decoder.handle_eof();
            continue;
        }
        let (chunk, tail) = rest.split_at(next_chunk().clamp(1, rest.len()));
        decoder.handle_bytes(chunk);
        rest = tail;
    }
}

/// The size seen so far when an event is too large depends on the split; nothing else may.
fn normalise(outcomes: Vec<Outcome>) -> Vec<Outcome> {
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Err(DecodeError::EventTooLarge { max, .. }) => {
                Err(DecodeError::EventTooLarge { len: 0, max })
            }
            other => other,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    // First byte: the event size limit; second: the seed of the split sizes.
    let [limit, seed, stream @ ..] = data else {
        return;
    };
    let max = 16 + usize::from(*limit) * 16;
    let whole = decode(stream, max, || usize::MAX);
    let mut state = u32::from(*seed) | 1;
    let split = decode(stream, max, || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((state >> 16) % 64) as usize + 1
    });
    assert_eq!(normalise(whole), normalise(split));
});
