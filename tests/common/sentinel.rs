//! Redis Sentinel for a test: a primary, its replica and three sentinels on loopback.

use std::time::{Duration, Instant};

use super::redis_server::RedisServer;

/// How long the set may take to be ready.
const START: Duration = Duration::from_secs(30);

/// A primary, its replica and three sentinels (quorum 2) on loopback, all real
/// `redis-server` processes (a sentinel is `redis-server --sentinel`).
pub struct SentinelSet {
    pub name: String,
    pub primary: RedisServer,
    pub replica: RedisServer,
    pub sentinels: Vec<RedisServer>,
}

impl SentinelSet {
    /// Starts them and waits until every sentinel knows the replica and the replica is in sync.
    pub fn start(name: &str, down_after_ms: u32) -> Self {
        // A replica syncs at once (not after the default 5 s wait for more replicas).
        let primary = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
        let at = primary.port.to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &at]);
        let sentinels = (0..3)
            .map(|_| RedisServer::start_sentinel(name, primary.port, 2, down_after_ms))
            .collect();
        let set = Self {
            name: name.to_owned(),
            primary,
            replica,
            sentinels,
        };
        let deadline = Instant::now() + START;
        loop {
            let synced = info(set.replica.port, "replication")
                .is_some_and(|i| i.contains("master_link_status:up"));
            let known = set.sentinels.iter().all(|s| {
                matches!(
                    sentinel_cmd(s.port, &["replicas", name]),
                    Some(redis::Value::Array(replicas)) if !replicas.is_empty()
                )
            });
            if synced && known {
                return set;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels never saw the replica in sync"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL that finds the primary through the sentinels.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{}", hosts.join(","), self.name)
    }

    /// The primary's port as the first sentinel that answers names it.
    pub fn primary_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            let value = sentinel_cmd(s.port, &["get-master-addr-by-name", &self.name])?;
            let pair: Vec<String> = redis::FromRedisValue::from_redis_value(value).ok()?;
            pair.get(1)?.parse().ok()
        })
    }
}

/// A sentinel's answer to `SENTINEL args…`, if it answers.
fn sentinel_cmd(port: u16, args: &[&str]) -> Option<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .ok()?;
    let mut cmd = redis::cmd("SENTINEL");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query(&mut conn).ok()
}

/// A server's `INFO section`, if it answers.
fn info(port: u16, section: &str) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .ok()?;
    redis::cmd("INFO").arg(section).query(&mut conn).ok()
}
