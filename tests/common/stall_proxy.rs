//! A loopback TCP proxy for a test's Redis link: it forwards both ways to its target; while it
//! is stalled it forwards nothing (and new connections wait) without closing anything, as a
//! stalled network does, and resumes where it stopped. Its target can change (as a virtual
//! address moves to a promoted replica); connections opened since go there.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct StallProxy {
    pub port: u16,
    stalled: Arc<AtomicBool>,
    target: Arc<AtomicU16>,
}

impl StallProxy {
    /// A proxy to `127.0.0.1:target`, forwarding.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stalled = Arc::new(AtomicBool::new(false));
        let target = Arc::new(AtomicU16::new(target));
        let (flag, to) = (stalled.clone(), target.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (flag, to) = (flag.clone(), to.clone());
                tokio::spawn(async move {
                    unstalled(&flag).await;
                    let upstream = to.load(Ordering::SeqCst);
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    tokio::spawn(pump(client_read, upstream_write, flag.clone()));
                    tokio::spawn(pump(upstream_read, client_write, flag));
                });
            }
        });
        Self {
            port,
            stalled,
            target,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops (`true`) or resumes (`false`) forwarding.
    pub fn stall(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Sends connections opened from now on to `127.0.0.1:port`.
    pub fn retarget(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
    }
}

/// Waits while `stalled` is set.
async fn unstalled(stalled: &AtomicBool) {
    while stalled.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Copies bytes from `from` to `to`, holding them (both ends left open) while stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        unstalled(&stalled).await;
        let read = tokio::select! {
            read = from.read(&mut buf) => read,
            () = tokio::time::sleep(Duration::from_millis(50)) => continue,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        unstalled(&stalled).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
