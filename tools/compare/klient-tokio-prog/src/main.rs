//! The comparison program on klient-tokio (see ../../README.md). Each subcommand is one
//! whole-process measurement of `run.sh`; `build-demo` is the program of the build-cost check.

#[path = "../../common.rs"]
mod common;

use std::error::Error;

use common::{Command, Pattern};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use klient_tokio::api::{Api, ListParams};
use klient_tokio::runtime::{watcher, watcher::Event};
use klient_tokio::{AttachParams, Client, ExitStatus, TunnelCarrier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result {
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
            let mut options = klient_tokio::TunnelOptions::default();
            if let Some(carriers) = common::carriers_from_env(TunnelCarrier::WebSocket, TunnelCarrier::Spdy) {
                options.carriers = carriers;
            }
            let listener = klient_tokio::PortForwardListener::bind_with(
                &client, &namespace, &pod, port, local, &options,
            )
            .await?;
            println!("listening on {}", listener.local_addr());
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
    use tokio::io::AsyncReadExt;
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    stdin.shutdown().await?;
    let mut printed = Vec::new();
    stdout.read_to_end(&mut printed).await?;
    common::check_count(&printed, total)?;
    match process.wait().await? {
        ExitStatus::Success => Ok(()),
        other => Err(format!("`wc -c` ended with {other:?}").into()),
    }
}

/// Writes `total` bytes into the forwarded port from one task while this one reads them back.
async fn port_forward(pods: &Api<Pod>, pod: &str, port: u16, total: u64) -> Result {
    let mut forwarder = pods.portforward(pod, &[port]).await?;
    let stream = forwarder.take_stream(port).ok_or("no stream for the port")?;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let pattern = std::sync::Arc::new(Pattern::new());
    let sending = pattern.clone();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        while sent < total {
            let chunk = sending.next_chunk(sent, total);
            writer.write_all(chunk).await?;
            sent += chunk.len() as u64;
        }
        std::io::Result::Ok(writer)
    });
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
    let writer = sender.await??;
    drop(reader.unsplit(writer));
    forwarder.close().await;
    Ok(())
}
