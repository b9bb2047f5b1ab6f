//! A real `redis-server` for a test: started on a free loopback port in a temporary directory,
//! stopped when dropped. Self-contained: the interop tests include it too. `scripts/test.sh` installs it from Debian's packages when missing; a
//! test that needs it fails (never skips) without it.

use std::path::PathBuf;

/// How long the server may take to listen.
const START: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
    /// Arguments after the defaults (a replica's `--replicaof`, say).
    extra: Vec<String>,
    /// A sentinel's configuration file (Sentinel rewrites it), when this is a sentinel.
    sentinel_conf: Option<PathBuf>,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return PathBuf::from(path);
    }
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
    {
        let candidate = PathBuf::from(dir).join("redis-server");
        if candidate.exists() {
            return candidate;
        }
    }
    panic!(
        "redis-server is not installed: run scripts/test.sh (it installs Debian's redis-server \
         when missing), or apt-get install redis-server, or set REDIS_SERVER"
    );
}

impl RedisServer {
    /// Starts a server and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with `extra` arguments after the defaults (which they override: a
    /// later `--appendonly yes` wins, say).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut server = Self::unstarted();
        server.extra = extra.iter().map(|a| a.to_string()).collect();
        server.spawn();
        server
    }

    /// Starts a sentinel (`redis-server <conf> --sentinel`) that monitors the primary at
    /// `primary_port` as `name`, with a quorum of `quorum`, judging it down after
    /// `down_after_ms`.
    pub fn start_sentinel(name: &str, primary_port: u16, quorum: u32, down_after_ms: u32) -> Self {
        let mut server = Self::unstarted();
        let conf = server.dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {name} 127.0.0.1 {primary_port} {quorum}\n\
                 sentinel down-after-milliseconds {name} {down_after_ms}\n\
                 sentinel failover-timeout {name} 10000\n\
                 sentinel parallel-syncs {name} 1\n",
                port = server.port,
                dir = server.dir.display(),
            ),
        )
        .expect("a sentinel configuration");
        server.sentinel_conf = Some(conf);
        server.spawn();
        server
    }

    fn unstarted() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("gc-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        Self {
            port,
            child: None,
            dir,
            extra: Vec::new(),
            sentinel_conf: None,
        }
    }

    fn spawn(&mut self) {
        let mut command = Command::new(binary());
        match &self.sentinel_conf {
            Some(conf) => {
                command.arg(conf).arg("--sentinel");
            }
            None => {
                command
                    .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                    .args([
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "yes",
                    ])
                    .arg("--dir")
                    .arg(&self.dir)
                    .args(&self.extra);
            }
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + START;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server never listened on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server (SIGKILL), as an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port: empty, unless its arguments turn persistence on.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
