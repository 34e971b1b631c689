//! Tests of the socket sink against local listeners: lines arrive chained, the sink
//! reconnects after the listener restarts, and a stuck or absent peer fails within the
//! timeout.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::*;

const SECOND: Duration = Duration::from_secs(1);

/// Reads `count` lines from an accepted connection.
async fn read_lines(stream: impl AsyncRead + Unpin, count: usize) -> Vec<String> {
    let mut lines = BufReader::new(stream).lines();
    let mut out = Vec::new();
    while out.len() < count {
        let line = tokio::time::timeout(SECOND * 5, lines.next_line())
            .await
            .expect("a line arrives in time")
            .expect("the connection reads")
            .expect("the connection stays open");
        out.push(line);
    }
    out
}

fn chained(lines: &[String]) -> usize {
    chain::verify((lines.join("\n") + "\n").as_bytes()).expect("an intact chain")
}

#[tokio::test]
async fn tcp_lines_arrive_chained_and_survive_a_listener_restart() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sink = SocketSink::new(address.clone(), SocketType::Tcp);
    sink.open(SECOND).await.unwrap();
    sink.append("{\"n\":1".into(), SECOND).await.unwrap();
    sink.append("{\"n\":2".into(), SECOND).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let first = read_lines(stream, 2).await;
    assert_eq!(chained(&first), 2);
    assert!(first[0].starts_with("{\"n\":1,\"prev_hash\":\"\"}"));
    drop(listener);

    let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    sink.append("{\"n\":3".into(), SECOND).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let third = read_lines(stream, 1).await;
    let all = [first.clone(), third].concat();
    assert_eq!(chained(&all), 3, "the chain continues across the reconnect");
}

#[cfg(unix)]
#[tokio::test]
async fn unix_lines_arrive_and_survive_a_listener_restart() {
    let dir = std::env::temp_dir().join(format!("cofre-sock-{}", crate::crypto::uuid_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let sink = SocketSink::new(path.display().to_string(), SocketType::Unix);
    sink.append("{\"n\":1".into(), SECOND).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let first = read_lines(stream, 1).await;
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    assert!(sink.append("{\"n\":2".into(), SECOND).await.is_err());

    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    sink.append("{\"n\":3".into(), SECOND).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let second = read_lines(stream, 1).await;
    assert!(second[0].starts_with("{\"n\":3"));
    assert_eq!(
        chained(&[first, second].concat()),
        2,
        "a failed line is not chained"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_stuck_peer_times_out_and_an_absent_one_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sink = SocketSink::new(address, SocketType::Tcp);
    // Accepted (by the backlog) but never read: the buffers fill and the write blocks.
    let big = format!("{{\"blob\":\"{}\"", "x".repeat(32 << 20));
    let started = std::time::Instant::now();
    let err = sink
        .append(big, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() < SECOND * 3, "{:?}", started.elapsed());
    drop(listener);

    let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = free.local_addr().unwrap().to_string();
    drop(free);
    let absent = SocketSink::new(address, SocketType::Tcp);
    assert!(absent.open(SECOND).await.is_err());
    assert!(absent.append("{\"n\":1".into(), SECOND).await.is_err());
}
