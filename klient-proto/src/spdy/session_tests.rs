use super::*;

/// The far end, as a kubelet would frame it.
struct Peer {
    encoder: FrameEncoder,
    decoder: FrameDecoder,
}

impl Peer {
    fn new() -> Self {
        Self {
            encoder: FrameEncoder::new(),
            decoder: FrameDecoder::new(FrameLimits::default()),
        }
    }

    fn receive(&mut self, session: &mut ClientSession) -> Vec<Frame> {
        if let Some(bytes) = session.poll_transmit() {
            self.decoder.push(&bytes);
        }
        let mut frames = Vec::new();
        while let Some(frame) = self.decoder.next_frame().unwrap() {
            frames.push(frame);
        }
        frames
    }
}

fn events(session: &mut ClientSession) -> Vec<SpdyEvent> {
    let mut out = Vec::new();
    while let Ok(Progress::Event(event)) = session.poll_event() {
        out.push(event);
    }
    out
}

fn quiet() -> SessionConfig {
    SessionConfig {
        ping_interval: None,
        ..SessionConfig::default()
    }
}

#[test]
fn streams_open_with_odd_ids_and_carry_data_and_half_closes_both_ways() {
    let now = Instant::now();
    let mut session = ClientSession::new(quiet(), now);
    let mut peer = Peer::new();
    let error = session
        .open(&Headers::new().with("streamtype", "error"), true, Instant::now())
        .unwrap();
    let data = session
        .open(&Headers::new().with("streamtype", "data"), false, Instant::now())
        .unwrap();
    assert_eq!((error, data), (1, 3));
    session.send(data, b"ping", false).unwrap();
    session.send(data, b"", true).unwrap();
    assert_eq!(
        session.send(data, b"late", false),
        Err(SpdySendError::NotWritable(3))
    );
    let frames = peer.receive(&mut session);
    assert!(
        matches!(&frames[0], Frame::SynStream { stream_id: 1, flags: FLAG_FIN, headers, .. } if headers.get("streamtype") == Some("error"))
    );
    assert!(matches!(
        &frames[1],
        Frame::SynStream {
            stream_id: 3,
            flags: 0,
            ..
        }
    ));
    assert_eq!(
        frames[2],
        Frame::Data {
            stream_id: 3,
            fin: false,
            data: Bytes::from_static(b"ping")
        }
    );
    assert_eq!(
        frames[3],
        Frame::Data {
            stream_id: 3,
            fin: true,
            data: Bytes::new()
        }
    );

    let mut wire = Vec::new();
    peer.encoder.syn_reply(&mut wire, 1, false, &Headers::new());
    peer.encoder.syn_reply(&mut wire, 3, false, &Headers::new());
    frame::data(&mut wire, 3, b"pong", true);
    frame::data(&mut wire, 1, b"", true);
    // Split anywhere, as a tunnel may.
    for piece in wire.chunks(5) {
        session.handle_bytes(piece);
    }
    assert_eq!(
        events(&mut session),
        [
            SpdyEvent::Replied {
                stream_id: 1,
                headers: Headers::new()
            },
            SpdyEvent::Replied {
                stream_id: 3,
                headers: Headers::new()
            },
            SpdyEvent::Data {
                stream_id: 3,
                data: Bytes::from_static(b"pong")
            },
            SpdyEvent::Finished { stream_id: 3 },
            SpdyEvent::Finished { stream_id: 1 },
        ]
    );
    assert_eq!(
        session.open_streams(),
        0,
        "both directions of both streams are over"
    );
}

#[test]
fn pings_go_out_on_time_and_a_silent_peer_fails_the_session() {
    let start = Instant::now();
    let config = SessionConfig {
        ping_interval: Some(Duration::from_secs(10)),
        peer_timeout: Duration::from_secs(30),
        ..SessionConfig::default()
    };
    let mut session = ClientSession::new(config, start);
    let mut peer = Peer::new();
    assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(10)));
    session.handle_timeout(start + Duration::from_secs(10));
    assert_eq!(peer.receive(&mut session), [Frame::Ping { id: 1 }]);
    // The answer (any frame) proves the peer alive.
    let mut wire = Vec::new();
    frame::ping(&mut wire, 1);
    session.handle_bytes(&wire);
    session.handle_timeout(start + Duration::from_secs(20));
    assert_eq!(peer.receive(&mut session), [Frame::Ping { id: 3 }]);
    // Then silence: pings keep going out until the deadline 30 s after the first unanswered one.
    session.handle_timeout(start + Duration::from_secs(30));
    session.handle_timeout(start + Duration::from_secs(40));
    assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(50)));
    assert!(session.is_open());
    session.handle_timeout(start + Duration::from_secs(50));
    assert_eq!(
        session.poll_event(),
        Err(SpdyError::PeerSilent(Duration::from_secs(30)))
    );
    assert!(!session.is_open());
    assert_eq!(
        session.open(&Headers::new(), false, Instant::now()),
        Err(SpdySendError::Closed)
    );
}

/// While the caller does not read (a reader of its has no room), the peer's answers wait unread:
/// neither the dead-peer deadline nor a reply deadline fails anything, and both start afresh
/// when reading resumes. Pings still go out.
#[test]
fn deadlines_wait_while_reading_is_paused() {
    let start = Instant::now();
    let secs = Duration::from_secs;
    let config = SessionConfig {
        ping_interval: Some(secs(10)),
        peer_timeout: secs(30),
        reply_timeout: secs(20),
        ..SessionConfig::default()
    };
    let mut session = ClientSession::new(config, start);
    let mut peer = Peer::new();
    let stream = session.open(&Headers::new(), false, start).unwrap();
    session.handle_timeout(start + secs(10));
    let _ = peer.receive(&mut session);
    session.pause_reading(true, start + secs(15));
    assert_eq!(
        session.poll_timeout(),
        Some(start + secs(20)),
        "the next ping only"
    );
    for at in [20, 30, 40, 50, 60, 70] {
        session.handle_timeout(start + secs(at));
    }
    assert!(session.is_open());
    assert!(events(&mut session).is_empty(), "no stream given up");
    assert!(
        peer.receive(&mut session)
            .iter()
            .all(|f| matches!(f, Frame::Ping { .. })),
        "pings only"
    );
    // From the resume, the stream has its whole reply timeout and the peer its whole deadline.
    session.pause_reading(false, start + secs(75));
    for at in [80, 90, 94] {
        session.handle_timeout(start + secs(at));
    }
    assert!(events(&mut session).is_empty());
    session.handle_timeout(start + secs(95));
    assert!(matches!(events(&mut session)[..], [SpdyEvent::NotReplied { stream_id }] if stream_id == stream));
    session.handle_timeout(start + secs(104));
    assert!(session.is_open());
    session.handle_timeout(start + secs(105));
    assert_eq!(session.poll_event(), Err(SpdyError::PeerSilent(secs(30))));
}

#[test]
fn server_pings_are_echoed_and_server_streams_refused() {
    let mut session = ClientSession::new(quiet(), Instant::now());
    let mut peer = Peer::new();
    let mut wire = Vec::new();
    frame::ping(&mut wire, 2);
    let mut encoder = FrameEncoder::new();
    encoder.syn_stream(&mut wire, 2, 0, &Headers::new().with("a", "b"));
    session.handle_bytes(&wire);
    assert_eq!(
        peer.receive(&mut session),
        [
            Frame::Ping { id: 2 },
            Frame::RstStream {
                stream_id: 2,
                status: rst::REFUSED_STREAM
            }
        ]
    );
    assert!(events(&mut session).is_empty());
    // Reusing a stream id is a protocol error.
    let mut wire = Vec::new();
    encoder.syn_stream(&mut wire, 2, 0, &Headers::new());
    session.handle_bytes(&wire);
    assert!(matches!(session.poll_event(), Err(SpdyError::Protocol(_))));
}

#[test]
fn a_reset_stream_drops_late_data_and_a_peer_reset_is_reported() {
    let mut session = ClientSession::new(quiet(), Instant::now());
    let mut peer = Peer::new();
    let a = session.open(&Headers::new(), false, Instant::now()).unwrap();
    let b = session.open(&Headers::new(), false, Instant::now()).unwrap();
    session.reset(a, rst::CANCEL);
    session.reset(a, rst::CANCEL);
    let frames = peer.receive(&mut session);
    assert_eq!(
        frames.last(),
        Some(&Frame::RstStream {
            stream_id: a,
            status: rst::CANCEL
        })
    );
    assert_eq!(frames.len(), 3, "one reset only: {frames:?}");
    let mut wire = Vec::new();
    frame::data(&mut wire, a, b"late", false);
    frame::rst_stream(&mut wire, b, rst::INTERNAL_ERROR);
    frame::data(&mut wire, b, b"after reset", false);
    session.handle_bytes(&wire);
    assert_eq!(
        events(&mut session),
        [SpdyEvent::Reset {
            stream_id: b,
            status: rst::INTERNAL_ERROR
        }]
    );
    assert_eq!(session.send(b, b"x", false), Err(SpdySendError::NotWritable(b)));
}

#[test]
fn after_goaway_open_streams_go_on_and_new_ones_are_refused() {
    let mut session = ClientSession::new(quiet(), Instant::now());
    let a = session.open(&Headers::new(), false, Instant::now()).unwrap();
    let mut wire = Vec::new();
    frame::go_away(&mut wire, a, 0);
    frame::data(&mut wire, a, b"still here", false);
    session.handle_bytes(&wire);
    assert_eq!(
        events(&mut session),
        [
            SpdyEvent::GoAway {
                last_good_stream_id: a
            },
            SpdyEvent::Data {
                stream_id: a,
                data: Bytes::from_static(b"still here")
            },
        ]
    );
    assert_eq!(
        session.open(&Headers::new(), false, Instant::now()),
        Err(SpdySendError::GoingAway)
    );
    session.send(a, b"reply", true).unwrap();
}

#[test]
fn the_end_of_the_transport_is_clean_between_frames_and_truncation_inside_one() {
    let mut session = ClientSession::new(quiet(), Instant::now());
    session.handle_eof();
    assert_eq!(session.poll_event(), Ok(Progress::Finished));

    let mut session = ClientSession::new(quiet(), Instant::now());
    let a = session.open(&Headers::new(), false, Instant::now()).unwrap();
    let mut wire = Vec::new();
    frame::data(&mut wire, a, b"whole", false);
    frame::data(&mut wire, a, b"cut short", false);
    session.handle_bytes(&wire[..wire.len() - 3]);
    session.handle_eof();
    // What arrived whole is delivered before the failure.
    assert_eq!(
        events(&mut session),
        [SpdyEvent::Data {
            stream_id: a,
            data: Bytes::from_static(b"whole")
        }]
    );
    assert_eq!(session.poll_event(), Err(SpdyError::Truncated));
}

#[test]
fn go_away_is_the_last_frame_and_ends_the_session() {
    let mut session = ClientSession::new(quiet(), Instant::now());
    let mut peer = Peer::new();
    session.open(&Headers::new(), false, Instant::now()).unwrap();
    session.go_away();
    let frames = peer.receive(&mut session);
    assert_eq!(
        frames.last(),
        Some(&Frame::GoAway {
            last_good_stream_id: 0,
            status: 0
        })
    );
    assert_eq!(
        session.open(&Headers::new(), false, Instant::now()),
        Err(SpdySendError::Closed)
    );
    assert_eq!(session.poll_event(), Ok(Progress::Finished));
}

#[test]
fn a_stream_the_peer_never_replies_to_is_reset_and_reported_at_its_deadline() {
    let start = Instant::now();
    let config = SessionConfig {
        reply_timeout: Duration::from_secs(30),
        ..quiet()
    };
    let mut session = ClientSession::new(config, start);
    let mut peer = Peer::new();
    let answered = session.open(&Headers::new(), false, start).unwrap();
    let later = start + Duration::from_secs(5);
    let pending = session.open(&Headers::new(), false, later).unwrap();
    assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(30)));
    let _ = peer.receive(&mut session);

    let mut wire = Vec::new();
    peer.encoder
        .syn_reply(&mut wire, answered, false, &Headers::new());
    session.handle_bytes(&wire);
    assert!(
        matches!(events(&mut session)[..], [SpdyEvent::Replied { stream_id, .. }] if stream_id == answered)
    );
    // Only the stream still waiting has a deadline now.
    assert_eq!(session.poll_timeout(), Some(later + Duration::from_secs(30)));
    session.handle_timeout(later + Duration::from_secs(29));
    assert!(events(&mut session).is_empty());
    assert!(peer.receive(&mut session).is_empty());

    session.handle_timeout(later + Duration::from_secs(30));
    assert_eq!(
        events(&mut session),
        [SpdyEvent::NotReplied { stream_id: pending }]
    );
    assert_eq!(
        peer.receive(&mut session),
        [Frame::RstStream {
            stream_id: pending,
            status: rst::CANCEL
        }]
    );
    assert_eq!(session.poll_timeout(), None, "nothing is left to wait for");
    assert!(session.is_open(), "the session and the answered stream go on");
    session.send(answered, b"still here", false).unwrap();
    assert_eq!(
        session.send(pending, b"gone", false),
        Err(SpdySendError::NotWritable(pending))
    );
}
