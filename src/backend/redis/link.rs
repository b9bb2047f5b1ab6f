//! The link to the Redis primary: one server named by a `redis://` URL, or the primary that
//! Redis Sentinel names for a `redis+sentinel://` URL, found again after a failover.
//!
//! Requests go through a [`ConnectionManager`], which reconnects to the same address. With
//! Sentinel, a request that fails as a lost primary would (the connection dropped, refused or
//! timed out, or a `READONLY` reply from a primary demoted to replica) makes the link ask the
//! sentinels for the primary again, in the background and at most four times a second, and
//! swap in a connection to it: the same processes serve again once Sentinel has promoted a
//! replica, with no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Client, RedisConnectionInfo, RedisError, RedisResult};

use crate::backend::BackendError;

/// The scheme of a Sentinel URL.
const SENTINEL_SCHEME: &str = "redis+sentinel://";
/// The sentinels' port when a URL leaves it out.
const SENTINEL_PORT: u16 = 26379;
/// How long a connection to the primary may take to open.
const OPEN: Duration = Duration::from_secs(5);
/// The least time between two lookups of the primary.
const RELOOK: Duration = Duration::from_millis(250);

/// Where the primary is.
enum Target {
    /// One server, always the same.
    Direct(Client),
    /// Whichever server the sentinels name.
    Sentinel(tokio::sync::Mutex<SentinelClient>),
}

/// The link to the primary.
pub(super) struct Link {
    target: Target,
    config: ConnectionManagerConfig,
    current: RwLock<ConnectionManager>,
    /// A lookup of the primary is under way (or just ended).
    looking: AtomicBool,
}

/// A `redis+sentinel://` URL, taken apart.
#[derive(Debug, PartialEq)]
struct SentinelUrl {
    sentinels: Vec<(String, u16)>,
    master: String,
    db: i64,
    username: Option<String>,
    password: Option<String>,
}

/// Parses `redis+sentinel://[user:password@]host[:port][,host[:port]...]/<master>[/<db>]`.
fn parse_sentinel_url(url: &str) -> Result<SentinelUrl, String> {
    let rest = url
        .strip_prefix(SENTINEL_SCHEME)
        .ok_or_else(|| format!("a Sentinel URL starts with {SENTINEL_SCHEME}"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (Some(credentials), hosts),
        None => (None, authority),
    };
    let (username, password) = match credentials {
        None => (None, None),
        Some(c) => match c.split_once(':') {
            Some((user, pass)) => (
                (!user.is_empty()).then(|| user.to_owned()),
                Some(pass.to_owned()),
            ),
            None => (None, Some(c.to_owned())),
        },
    };
    let mut sentinels = Vec::new();
    for host in hosts.split(',').filter(|h| !h.is_empty()) {
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) => (
                name,
                port.parse::<u16>()
                    .map_err(|_| format!("{port:?} is not a port (in {host:?})"))?,
            ),
            None => (host, SENTINEL_PORT),
        };
        sentinels.push((name.to_owned(), port));
    }
    if sentinels.is_empty() {
        return Err("it names no sentinel (host:port, comma-separated)".into());
    }
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let master = parts
        .next()
        .ok_or("it names no primary: add /<master name>, as in `sentinel monitor <name>`")?
        .to_owned();
    let db = match parts.next() {
        Some(db) => db
            .parse()
            .map_err(|_| format!("{db:?} is not a database number"))?,
        None => 0,
    };
    Ok(SentinelUrl {
        sentinels,
        master,
        db,
        username,
        password,
    })
}

impl Link {
    /// Opens the link: to the server of a `redis://` URL, or to the primary that the sentinels
    /// of a `redis+sentinel://` URL name. `shown` is the URL without credentials.
    pub(super) async fn open(
        url: &str,
        shown: &str,
        config: ConnectionManagerConfig,
    ) -> Result<Link, BackendError> {
        let target = if url.starts_with(SENTINEL_SCHEME) {
            let parsed = parse_sentinel_url(url)
                .map_err(|e| BackendError::new(format!("{shown} is not a Sentinel URL: {e}")))?;
            let nodes: Vec<String> = parsed
                .sentinels
                .iter()
                .map(|(host, port)| format!("redis://{host}:{port}/"))
                .collect();
            let mut redis_info = RedisConnectionInfo::default().set_db(parsed.db);
            if let Some(user) = &parsed.username {
                redis_info = redis_info.set_username(user);
            }
            if let Some(pass) = &parsed.password {
                redis_info = redis_info.set_password(pass);
            }
            let node_info =
                SentinelNodeConnectionInfo::default().set_redis_connection_info(redis_info);
            let client = SentinelClient::build(
                nodes,
                parsed.master.clone(),
                Some(node_info),
                SentinelServerType::Master,
            )
            .map_err(|e| BackendError::new(format!("{shown}: {e}")))?;
            Target::Sentinel(tokio::sync::Mutex::new(client))
        } else {
            let client = Client::open(url)
                .map_err(|e| BackendError::new(format!("{shown} is not a Redis URL: {e}")))?;
            Target::Direct(client)
        };
        let unreachable =
            |e: RedisError| BackendError::new(format!("Redis at {shown} is unreachable: {e}"));
        let client = tokio::time::timeout(OPEN, client_of(&target))
            .await
            .map_err(|_| {
                BackendError::new(format!(
                    "the sentinels of {shown} did not answer within 5 s"
                ))
            })?
            .map_err(unreachable)?;
        let mut conn = tokio::time::timeout(
            OPEN,
            ConnectionManager::new_with_config(client, config.clone()),
        )
        .await
        .map_err(|_| BackendError::new(format!("Redis at {shown} did not answer within 5 s")))?
        .map_err(unreachable)?;
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(unreachable)?;
        Ok(Link {
            target,
            config,
            current: RwLock::new(conn),
            looking: AtomicBool::new(false),
        })
    }

    /// The connection to the primary as known now (a cheap handle).
    pub(super) fn conn(&self) -> ConnectionManager {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A client of the primary as known now (for the pub/sub connection): with Sentinel, asked
    /// of the sentinels each time.
    pub(super) async fn client(&self) -> RedisResult<Client> {
        client_of(&self.target).await
    }

    /// Notes a failed request. With Sentinel, a failure that a lost or demoted primary causes
    /// starts a lookup of the primary, unless one is under way.
    pub(super) fn failed(self: &Arc<Self>, e: &RedisError) {
        if !matches!(self.target, Target::Sentinel(_)) {
            return;
        }
        let lost = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.code() == Some("READONLY");
        if !lost || self.looking.swap(true, Ordering::AcqRel) {
            return;
        }
        let link = self.clone();
        tokio::spawn(async move {
            link.look_again().await;
            tokio::time::sleep(RELOOK).await;
            link.looking.store(false, Ordering::Release);
        });
    }

    /// Asks the sentinels for the primary and connects to it.
    async fn look_again(&self) {
        let client = match tokio::time::timeout(OPEN, client_of(&self.target)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the sentinels did not name a primary");
                return;
            }
            Err(_) => {
                tracing::warn!("the sentinels did not answer within 5 s");
                return;
            }
        };
        let addr = client.get_connection_info().addr().to_string();
        match tokio::time::timeout(
            OPEN,
            ConnectionManager::new_with_config(client, self.config.clone()),
        )
        .await
        {
            Ok(Ok(conn)) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = conn;
                tracing::info!(primary = %addr, "connected to the primary the sentinels name");
            }
            Ok(Err(e)) => tracing::warn!(primary = %addr, error = %e, "the primary is unreachable"),
            Err(_) => tracing::warn!(primary = %addr, "the primary did not answer within 5 s"),
        }
    }
}

/// A client of the primary of `target`.
async fn client_of(target: &Target) -> RedisResult<Client> {
    match target {
        Target::Direct(client) => Ok(client.clone()),
        Target::Sentinel(sentinel) => sentinel.lock().await.async_get_client().await,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_sentinel_url, SentinelUrl};

    #[test]
    fn sentinel_urls_name_their_sentinels_primary_and_database() {
        assert_eq!(
            parse_sentinel_url("redis+sentinel://:secret@10.0.0.1:26380,10.0.0.2/mymaster/2"),
            Ok(SentinelUrl {
                sentinels: vec![("10.0.0.1".into(), 26380), ("10.0.0.2".into(), 26379)],
                master: "mymaster".into(),
                db: 2,
                username: None,
                password: Some("secret".into()),
            })
        );
        let plain = parse_sentinel_url("redis+sentinel://127.0.0.1:1/m").unwrap();
        assert_eq!((plain.master.as_str(), plain.db), ("m", 0));
        assert!(parse_sentinel_url("redis+sentinel://127.0.0.1:1")
            .unwrap_err()
            .contains("no primary"));
        assert!(parse_sentinel_url("redis+sentinel:///m")
            .unwrap_err()
            .contains("no sentinel"));
        assert!(parse_sentinel_url("redis+sentinel://h:x/m")
            .unwrap_err()
            .contains("not a port"));
    }
}
