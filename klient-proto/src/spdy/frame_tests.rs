use super::*;

/// Frames written by Go's SPDY framer (github.com/moby/spdystream, which Kubernetes' kubelet and
/// kubectl use): a SYN_STREAM for a port-forward error stream, an empty SYN_REPLY, a SYN_STREAM
/// for the data stream (its block compressed against the first one's window), "hello" on it, a
/// half-close of the error stream, a server ping, a cancel and a goaway.
const GO_FRAMES: &str = "800300010000003e0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a08086\
14cb45e01c60616061c0c0c0c0590489c64c50f2663400000000ffff800300020000000e000000016260606000000000ffff8003\
00010000001800000003000000000000c26a00a82c4a24ac1f000000ffff000000030000000568656c6c6f000000010100000080\
03000600000004000000028003000300000008000000030000000580030007000000080000000300000000";

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn decode_all(decoder: &mut FrameDecoder) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        frames.push(frame);
    }
    frames
}

fn port_headers(kind: &str) -> Headers {
    Headers::new()
        .with("streamtype", kind)
        .with("port", "8080")
        .with("requestid", "0")
}

#[test]
fn decodes_what_gos_framer_writes_in_one_byte_pieces() {
    let wire = unhex(GO_FRAMES);
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    let mut frames = Vec::new();
    for byte in &wire {
        decoder.push(std::slice::from_ref(byte));
        frames.extend(decode_all(&mut decoder));
    }
    assert!(!decoder.has_partial_frame());
    let sorted = |h: &Headers| {
        let mut pairs = h.pairs().to_vec();
        pairs.sort();
        pairs
    };
    let [syn_error, reply, syn_data, hello, fin, ping, rst, goaway] = frames.as_slice() else {
        panic!("{frames:?}")
    };
    match syn_error {
        Frame::SynStream {
            stream_id: 1,
            flags: 0,
            priority: 0,
            associated_to: 0,
            headers,
        } => {
            assert_eq!(sorted(headers), sorted(&port_headers("error")))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        reply,
        &Frame::SynReply {
            stream_id: 1,
            fin: false,
            headers: Headers::new()
        }
    );
    match syn_data {
        Frame::SynStream {
            stream_id: 3,
            headers,
            ..
        } => assert_eq!(sorted(headers), sorted(&port_headers("data"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        hello,
        &Frame::Data {
            stream_id: 3,
            fin: false,
            data: Bytes::from_static(b"hello")
        }
    );
    assert_eq!(
        fin,
        &Frame::Data {
            stream_id: 1,
            fin: true,
            data: Bytes::new()
        }
    );
    assert_eq!(ping, &Frame::Ping { id: 2 });
    assert_eq!(
        rst,
        &Frame::RstStream {
            stream_id: 3,
            status: rst::CANCEL
        }
    );
    assert_eq!(
        goaway,
        &Frame::GoAway {
            last_good_stream_id: 3,
            status: 0
        }
    );
}

#[test]
fn what_the_encoder_writes_decodes_to_the_same_frames() {
    let mut encoder = FrameEncoder::new();
    let mut wire = Vec::new();
    encoder.syn_stream(&mut wire, 1, FLAG_FIN, &port_headers("error"));
    encoder.syn_stream(&mut wire, 3, 0, &port_headers("data"));
    encoder.syn_reply(&mut wire, 2, true, &Headers::new().with("x", "y"));
    data(&mut wire, 3, b"payload", false);
    data(&mut wire, 3, b"", true);
    rst_stream(&mut wire, 5, rst::REFUSED_STREAM);
    ping(&mut wire, 7);
    go_away(&mut wire, 3, 0);
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&wire);
    assert_eq!(
        decode_all(&mut decoder),
        [
            Frame::SynStream {
                stream_id: 1,
                associated_to: 0,
                priority: 0,
                flags: FLAG_FIN,
                headers: port_headers("error")
            },
            Frame::SynStream {
                stream_id: 3,
                associated_to: 0,
                priority: 0,
                flags: 0,
                headers: port_headers("data")
            },
            Frame::SynReply {
                stream_id: 2,
                fin: true,
                headers: Headers::new().with("x", "y")
            },
            Frame::Data {
                stream_id: 3,
                fin: false,
                data: Bytes::from_static(b"payload")
            },
            Frame::Data {
                stream_id: 3,
                fin: true,
                data: Bytes::new()
            },
            Frame::RstStream {
                stream_id: 5,
                status: rst::REFUSED_STREAM
            },
            Frame::Ping { id: 7 },
            Frame::GoAway {
                last_good_stream_id: 3,
                status: 0
            },
        ]
    );
}

#[test]
fn data_larger_than_one_frame_is_split_and_fin_goes_on_the_last() {
    let payload = vec![7u8; MAX_PAYLOAD + 10];
    let mut wire = Vec::new();
    data(&mut wire, 9, &payload, true);
    let limits = FrameLimits {
        max_data: MAX_PAYLOAD,
        ..FrameLimits::default()
    };
    let mut decoder = FrameDecoder::new(limits);
    decoder.push(&wire);
    let frames = decode_all(&mut decoder);
    let lengths: Vec<(usize, bool)> = frames
        .iter()
        .map(|f| match f {
            Frame::Data {
                data,
                fin,
                stream_id: 9,
            } => (data.len(), *fin),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lengths, [(MAX_PAYLOAD, false), (10, true)]);
}

#[test]
fn settings_window_updates_and_unknown_types_are_decoded_to_be_ignored() {
    let mut wire = Vec::new();
    control_head(&mut wire, TYPE_SETTINGS, 0, 12);
    wire.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 100]);
    control_head(&mut wire, TYPE_WINDOW_UPDATE, 0, 8);
    wire.extend_from_slice(&[0, 0, 0, 1, 0x80, 0, 1, 0]);
    control_head(&mut wire, 42, 0, 3);
    wire.extend_from_slice(&[1, 2, 3]);
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&wire);
    assert_eq!(
        decode_all(&mut decoder),
        [
            Frame::Settings,
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 256
            },
            Frame::Unknown { frame_type: 42 }
        ]
    );
}

#[test]
fn malformed_frames_are_errors() {
    let decode = |wire: &[u8]| {
        let mut decoder = FrameDecoder::new(FrameLimits::default());
        decoder.push(wire);
        decoder.next_frame()
    };
    let control = |frame_type: u16, flags: u8, payload: &[u8]| {
        let mut wire = Vec::new();
        control_head(&mut wire, frame_type, flags, payload.len());
        wire.extend_from_slice(payload);
        wire
    };
    let invalid = |wire: Vec<u8>| matches!(decode(&wire), Err(SpdyError::InvalidFrame { .. }));
    assert!(invalid(control(TYPE_SYN_STREAM, 0, &[0; 9])));
    assert!(invalid(control(TYPE_SYN_STREAM, 0, &[0; 12])));
    assert!(invalid(control(TYPE_SYN_REPLY, 0, &[0; 3])));
    assert!(invalid(control(TYPE_RST_STREAM, 0, &[0; 7])));
    assert!(invalid(control(TYPE_RST_STREAM, 1, &[0; 8])));
    assert!(invalid(control(TYPE_SETTINGS, 0, &[0, 0, 0, 2, 0, 0, 0, 0])));
    assert!(invalid(control(TYPE_SETTINGS, 0, &[0, 0])));
    assert!(invalid(control(TYPE_PING, 0, &[0; 8])));
    assert!(invalid(control(TYPE_GOAWAY, 0, &[0; 4])));
    assert!(invalid(control(TYPE_WINDOW_UPDATE, 0, &[0; 4])));
    let mut v2 = control(TYPE_PING, 0, &[0; 4]);
    v2[1] = 2;
    assert_eq!(decode(&v2), Err(SpdyError::UnsupportedVersion(2)));
    // A SYN_STREAM whose block is not zlib.
    let mut syn = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    syn.extend_from_slice(b"not zlib");
    assert!(matches!(
        decode(&control(TYPE_SYN_STREAM, 0, &syn)),
        Err(SpdyError::Compression(_))
    ));
}

#[test]
fn frames_beyond_the_limits_are_refused_before_they_are_buffered() {
    let limits = FrameLimits {
        max_data: 100,
        max_control: 50,
        max_header_block: 1024,
    };
    let mut decoder = FrameDecoder::new(limits);
    let mut wire = Vec::new();
    data_head(&mut wire, 1, false, 101);
    decoder.push(&wire);
    assert_eq!(
        decoder.next_frame(),
        Err(SpdyError::FrameTooLarge {
            length: 101,
            max: 100
        })
    );
    let mut decoder = FrameDecoder::new(limits);
    let mut wire = Vec::new();
    control_head(&mut wire, TYPE_SYN_STREAM, 0, 51);
    decoder.push(&wire);
    assert_eq!(
        decoder.next_frame(),
        Err(SpdyError::FrameTooLarge { length: 51, max: 50 })
    );
}

#[test]
fn a_partial_frame_waits_for_the_rest() {
    let mut wire = Vec::new();
    data(&mut wire, 3, b"abcdef", false);
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    decoder.push(&wire[..10]);
    assert_eq!(decoder.next_frame(), Ok(None));
    assert!(decoder.has_partial_frame());
    decoder.push(&wire[10..]);
    assert_eq!(
        decoder.next_frame(),
        Ok(Some(Frame::Data {
            stream_id: 3,
            fin: false,
            data: Bytes::from_static(b"abcdef")
        }))
    );
    assert!(!decoder.has_partial_frame());
}
