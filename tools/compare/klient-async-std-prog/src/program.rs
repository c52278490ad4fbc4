//! The comparison program on klient-async-std (see ../../README.md), whichever executor runs it:
//! nothing here spawns, so `smol.rs` and `async_std.rs` only pick the `block_on`. Each subcommand
//! is one whole-process measurement of `run.sh`; `build-demo` is the program of the build-cost
//! check.

#[path = "../../common.rs"]
mod common;

use std::error::Error;

use common::{Command, Pattern};
use futures_util::StreamExt;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use k8s_openapi::api::core::v1::Pod;
use klient_async_std::api::{Api, ListParams};
use klient_async_std::runtime::{watcher, watcher::Event};
use klient_async_std::{AttachParams, Client, ExitStatus, TunnelCarrier};

pub type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

pub async fn main() -> Result {
    let client = Client::try_default()?;
    match Command::from_args() {
        Command::BuildDemo { namespace, pod } => {
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            let listed = pods.list(&ListParams::default()).await?.items.len();
            let initial = watch_initial_list(pods.clone()).await?;
            exec_true(&pods, &pod).await?;
            println!("listed {listed}, watched {initial}, exec ok");
        }
        Command::ExecTrue { namespace, pod } => {
            exec_true(&Api::namespaced(client, &namespace), &pod).await?;
        }
        Command::ExecOut {
            namespace,
            pod,
            bytes,
        } => exec_out(&Api::namespaced(client, &namespace), &pod, bytes).await?,
        Command::ExecIn {
            namespace,
            pod,
            bytes,
        } => exec_in(&Api::namespaced(client, &namespace), &pod, bytes).await?,
        Command::List { namespace } => {
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            println!("{}", pods.list(&ListParams::default()).await?.items.len());
        }
        Command::Listen {
            namespace,
            pod,
            port,
            local,
        } => {
            let mut options = klient_async_std::TunnelOptions::default();
            if let Some(carriers) = common::carriers_from_env(TunnelCarrier::WebSocket, TunnelCarrier::Spdy) {
                options.carriers = carriers;
            }
            let listener = klient_async_std::PortForwardListener::bind_with(
                &client, &namespace, &pod, port, local, &options,
            )
            .await?;
            println!("listening on {}", listener.local_addr());
            // Nothing runs the listener but this: it forwards while `serve` is awaited.
            // Ends when the pod is gone, with why.
            listener.serve().await?;
        }
        Command::PortForward {
            namespace,
            pod,
            port,
            bytes,
        } => {
            port_forward(&Api::namespaced(client, &namespace), &pod, port, bytes).await?;
        }
    }
    Ok(())
}

/// Runs a watcher until its initial list is complete; returns how many pods it held.
async fn watch_initial_list(pods: Api<Pod>) -> Result<usize> {
    let mut events = watcher(pods, Default::default()).boxed();
    let mut seen = 0;
    while let Some(event) = events.next().await {
        match event? {
            Event::Init => seen = 0,
            Event::InitApply(_) => seen += 1,
            Event::InitDone => return Ok(seen),
            _ => {}
        }
    }
    Err("the watcher ended before its initial list was complete".into())
}

async fn exec_true(pods: &Api<Pod>, pod: &str) -> Result {
    let process = pods.exec(pod, &["true"], &AttachParams::default()).await?;
    match process.wait().await? {
        ExitStatus::Success => Ok(()),
        other => Err(format!("`true` ended with {other:?}").into()),
    }
}

/// Reads `total` bytes of a command's stdout.
async fn exec_out(pods: &Api<Pod>, pod: &str, total: u64) -> Result {
    use futures_util::io::AsyncReadExt;
    let params = AttachParams {
        stderr: false,
        ..AttachParams::default()
    };
    let mut process = pods.exec(pod, &common::exec_out_command(total), &params).await?;
    let mut stdout = process.take_stdout().ok_or("no stdout")?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    loop {
        let n = stdout.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    match process.wait().await? {
        ExitStatus::Success if received == total => Ok(()),
        other => Err(format!("{received} of {total} bytes, then {other:?}").into()),
    }
}

/// Writes `total` bytes to a command's stdin, closes it, and checks the count the command prints.
async fn exec_in(pods: &Api<Pod>, pod: &str, total: u64) -> Result {
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    let params = AttachParams {
        stdin: true,
        stderr: false,
        ..AttachParams::default()
    };
    let mut process = pods.exec(pod, &common::EXEC_IN_COMMAND, &params).await?;
    let mut stdin = process.take_stdin().ok_or("no stdin")?;
    let mut stdout = process.take_stdout().ok_or("no stdout")?;
    let chunk = vec![b'x'; common::CHUNK];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(chunk.len() as u64) as usize;
        stdin.write_all(&chunk[..n]).await?;
        sent += n as u64;
    }
    stdin.close().await?;
    let mut printed = Vec::new();
    stdout.read_to_end(&mut printed).await?;
    common::check_count(&printed, total)?;
    match process.wait().await? {
        ExitStatus::Success => Ok(()),
        other => Err(format!("`wc -c` ended with {other:?}").into()),
    }
}

/// Writes `total` bytes into the forwarded port while reading them back, both in this one task.
async fn port_forward(pods: &Api<Pod>, pod: &str, port: u16, total: u64) -> Result {
    let mut forwarder = pods.portforward(pod, &[port]).await?;
    let stream = forwarder.take_stream(port).ok_or("no stream for the port")?;
    let (mut reader, mut writer) = stream.split();
    let pattern = Pattern::new();
    let sending = async {
        let mut sent = 0;
        while sent < total {
            let chunk = pattern.next_chunk(sent, total);
            writer.write_all(chunk).await?;
            sent += chunk.len() as u64;
        }
        Result::Ok(())
    };
    let receiving = async {
        let mut received = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        while received < total {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Err(format!("the port closed after {received} of {total} bytes").into());
            }
            pattern.check(received, &buf[..n])?;
            received += n as u64;
        }
        Result::Ok(())
    };
    let (sent, received) = futures_util::future::join(sending, receiving).await;
    sent?;
    received?;
    drop(reader.reunite(writer)?);
    forwarder.close().await;
    Ok(())
}
