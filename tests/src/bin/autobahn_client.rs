//! The echo client that Autobahn|Testsuite's fuzzing server tests (see tests/autobahn/run.sh).
//!
//! Usage: `autobahn_client ws://127.0.0.1:9001 [agent]`. For every case it connects to
//! `/runCase?case=N&agent=AGENT`, echoes each text and binary message until the connection ends,
//! then asks the server to write its reports, and prints the number of cases it ran on stdout
//! (everything else goes to stderr). Cases 12 and 13 (permessage-deflate) run with
//! compression offered; the others without, so they test the plain protocol.

use std::process::ExitCode;

use klient_blocking::websocket::{DeflateOffer, Message, Options, WebSocket};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(base) = args.next() else {
        eprintln!("usage: autobahn_client ws://HOST:PORT [agent]");
        return ExitCode::from(2);
    };
    let agent = args.next().unwrap_or_else(|| "klient".into());
    match run(&base, &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(base: &str, agent: &str) -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = read_text(&format!("{base}/getCaseCount"))?.trim().parse()?;
    eprintln!("autobahn_client: {count} cases");
    for case in 1..=count {
        let info = read_text(&format!("{base}/getCaseInfo?case={case}"))?;
        let id = case_id(&info).ok_or_else(|| format!("no id in case info {info:?}"))?;
        let deflate = id.starts_with("12.") || id.starts_with("13.");
        let mut options = Options::default();
        if deflate {
            options.deflate = Some(DeflateOffer::default());
        }
        // Section 9 sends messages of up to 16 MiB; the defaults allow that.
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match WebSocket::connect(&url, options) {
            Ok(ws) => echo(ws),
            Err(e) => eprintln!("case {id}: handshake: {e}"),
        }
    }
    let mut ws = WebSocket::connect(&format!("{base}/updateReports?agent={agent}"), Options::default())?;
    while !matches!(ws.read()?, Message::Close(_)) {}
    println!("{count}");
    Ok(())
}

/// Echoes until the connection ends; the suite judges how it ended, so errors are only noted.
fn echo(mut ws: WebSocket<std::net::TcpStream>) {
    loop {
        let sent = match ws.read() {
            Ok(Message::Text(text)) => ws.send_text(&text),
            Ok(Message::Binary(data)) => ws.send_binary(&data),
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(()),
            Ok(Message::Close(_)) | Err(_) => return,
        };
        if sent.is_err() {
            // The connection failed while sending; read() reports the rest.
            continue;
        }
    }
}

/// The first text message of a connection, read until the server closes it.
fn read_text(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut ws = WebSocket::connect(url, Options::default())?;
    let mut text = None;
    loop {
        match ws.read()? {
            Message::Text(t) if text.is_none() => text = Some(t),
            Message::Close(_) => break,
            _ => {}
        }
    }
    text.ok_or_else(|| format!("{url} sent no text").into())
}

/// The `"id"` field of a case-info object such as `{"id": "1.1.1", "description": ...}`.
fn case_id(info: &str) -> Option<String> {
    let after = info.split_once("\"id\"")?.1;
    let value = after.split_once('"')?.1;
    Some(value.split_once('"')?.0.to_owned())
}
