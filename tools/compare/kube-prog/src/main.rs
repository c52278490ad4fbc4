//! The comparison program on kube 5 (see ../../README.md): the same subcommands, written as a
//! kube user would, with kube's own defaults.

// exec-out and exec-in are for exec.sh, which compares klient with kubectl only.
#[allow(dead_code)]
#[path = "../../common.rs"]
mod common;

use std::error::Error;

use common::{Command, Pattern};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, AttachParams, ListParams};
use kube::runtime::watcher::{self, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result {
    let client = Client::try_default().await?;
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
        // exec.sh compares klient with kubectl; kube 5 takes part in run.sh only.
        Command::ExecOut { .. } | Command::ExecIn { .. } => {
            return Err("kube-prog does not run exec-out or exec-in (see exec.sh)".into());
        }
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
            // kube has no listener: each accepted connection gets a port-forward of its own,
            // copied both ways (as kube's port-forward example does).
            let pods: Api<Pod> = Api::namespaced(client, &namespace);
            let listener = tokio::net::TcpListener::bind(local).await?;
            println!("listening on {}", listener.local_addr()?);
            loop {
                let (mut connection, _) = listener.accept().await?;
                let (pods, pod) = (pods.clone(), pod.clone());
                tokio::spawn(async move {
                    let forwarded = async {
                        let mut forwarder = pods.portforward(&pod, &[port]).await?;
                        let mut upstream = forwarder.take_stream(port).ok_or("no stream for the port")?;
                        tokio::io::copy_bidirectional(&mut connection, &mut upstream).await?;
                        Result::Ok(())
                    };
                    if let Err(e) = forwarded.await {
                        eprintln!("port-forward: {e}");
                    }
                });
            }
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
    let mut events = watcher::watcher(pods, watcher::Config::default()).boxed();
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
    let mut process = pods.exec(pod, ["true"], &AttachParams::default()).await?;
    // kube reports the exit as the error channel's Status: "Success", or "Failure" with a reason.
    let status = process.take_status().ok_or("no status channel")?.await;
    process.join().await?;
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        other => Err(format!("`true` ended with {other:?}").into()),
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
    // Dropping the stream ends the port's connection; join waits for the session to close.
    drop(reader.unsplit(writer));
    forwarder.join().await?;
    Ok(())
}
