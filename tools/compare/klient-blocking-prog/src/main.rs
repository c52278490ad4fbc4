//! The comparison program on klient-blocking (see ../../README.md): the same subcommands as the
//! async programs, with threads where they use tasks.

#[path = "../../common.rs"]
mod common;

use std::error::Error;
use std::io::{Read, Write};

use common::{Command, Pattern};
use k8s_openapi::api::core::v1::Pod;
use klient_blocking::core::ListParams;
use klient_blocking::watch_core::Event;
use klient_blocking::{Api, AttachParams, Client, ExitStatus, TunnelCarrier, watcher};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result {
    let client = Client::try_default()?;
    match Command::from_args() {
        Command::BuildDemo { namespace, pod } => {
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            let listed = pods.list(&ListParams::default())?.items.len();
            let initial = watch_initial_list(pods.clone())?;
            exec_true(&pods, &pod)?;
            println!("listed {listed}, watched {initial}, exec ok");
        }
        Command::ExecTrue { namespace, pod } => exec_true(&Api::namespaced(client, &namespace), &pod)?,
        Command::ExecOut {
            namespace,
            pod,
            bytes,
        } => exec_out(&Api::namespaced(client, &namespace), &pod, bytes)?,
        Command::ExecIn {
            namespace,
            pod,
            bytes,
        } => exec_in(&Api::namespaced(client, &namespace), &pod, bytes)?,
        Command::List { namespace } => {
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            println!("{}", pods.list(&ListParams::default())?.items.len());
        }
        Command::Listen {
            namespace,
            pod,
            port,
            local,
        } => {
            let mut options = klient_blocking::TunnelOptions::default();
            if let Some(carriers) = common::carriers_from_env(TunnelCarrier::WebSocket, TunnelCarrier::Spdy) {
                options.carriers = carriers;
            }
            let listener = klient_blocking::PortForwardListener::bind_with(
                &client, &namespace, &pod, port, local, &options,
            )?;
            println!("listening on {}", listener.local_addr());
            // The listener's threads forward; this one waits until the pod is gone.
            listener.serve()?;
        }
        Command::PortForward {
            namespace,
            pod,
            port,
            bytes,
        } => {
            port_forward(&Api::namespaced(client, &namespace), &pod, port, bytes)?;
        }
    }
    Ok(())
}

/// Runs a watcher until its initial list is complete; returns how many pods it held.
fn watch_initial_list(pods: Api<Pod>) -> Result<usize> {
    let mut seen = 0;
    for event in watcher(pods, Default::default()) {
        match event? {
            Event::Init => seen = 0,
            Event::InitApply(_) => seen += 1,
            Event::InitDone => return Ok(seen),
            _ => {}
        }
    }
    Err("the watcher ended before its initial list was complete".into())
}

fn exec_true(pods: &Api<Pod>, pod: &str) -> Result {
    let process = pods.exec(pod, &["true"], &AttachParams::default())?;
    match process.wait()? {
        ExitStatus::Success => Ok(()),
        other => Err(format!("`true` ended with {other:?}").into()),
    }
}

/// Reads `total` bytes of a command's stdout.
fn exec_out(pods: &Api<Pod>, pod: &str, total: u64) -> Result {
    let params = AttachParams {
        stderr: false,
        ..AttachParams::default()
    };
    let mut process = pods.exec(pod, &common::exec_out_command(total), &params)?;
    let mut stdout = process.take_stdout().ok_or("no stdout")?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    match process.wait()? {
        ExitStatus::Success if received == total => Ok(()),
        other => Err(format!("{received} of {total} bytes, then {other:?}").into()),
    }
}

/// Writes `total` bytes to a command's stdin, closes it, and checks the count the command prints.
fn exec_in(pods: &Api<Pod>, pod: &str, total: u64) -> Result {
    let params = AttachParams {
        stdin: true,
        stderr: false,
        ..AttachParams::default()
    };
    let mut process = pods.exec(pod, &common::EXEC_IN_COMMAND, &params)?;
    let mut stdin = process.take_stdin().ok_or("no stdin")?;
    let mut stdout = process.take_stdout().ok_or("no stdout")?;
    let chunk = vec![b'x'; common::CHUNK];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(chunk.len() as u64) as usize;
        stdin.write_all(&chunk[..n])?;
        sent += n as u64;
    }
    drop(stdin);
    let mut printed = Vec::new();
    stdout.read_to_end(&mut printed)?;
    common::check_count(&printed, total)?;
    match process.wait()? {
        ExitStatus::Success => Ok(()),
        other => Err(format!("`wc -c` ended with {other:?}").into()),
    }
}

/// Writes `total` bytes into the forwarded port from one thread while this one reads them back.
fn port_forward(pods: &Api<Pod>, pod: &str, port: u16, total: u64) -> Result {
    let mut forwarder = pods.portforward(pod, &[port])?;
    let mut stream = forwarder.take_stream(port).ok_or("no stream for the port")?;
    let pattern = &Pattern::new();
    let mut writer = stream.writer();
    std::thread::scope(|scope| -> Result {
        let sender = scope.spawn(move || -> std::io::Result<()> {
            let mut sent = 0;
            while sent < total {
                let chunk = pattern.next_chunk(sent, total);
                writer.write_all(chunk)?;
                sent += chunk.len() as u64;
            }
            Ok(())
        });
        let mut received = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        while received < total {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Err(format!("the port closed after {received} of {total} bytes").into());
            }
            pattern.check(received, &buf[..n])?;
            received += n as u64;
        }
        sender.join().expect("the sender thread panicked")?;
        Ok(())
    })?;
    drop(stream);
    forwarder.close();
    Ok(())
}
