//! One replica of a scaled-out service: run several, on different ports, with the same Redis
//! and the same upload directory, behind any load balancer (no sticky sessions needed).
//!
//! ```sh
//! redis-server --port 6379 &
//! cargo run --example scale_out --features redis -- --port 7861 --redis redis://127.0.0.1:6379 --upload-dir /tmp/shared-uploads
//! cargo run --example scale_out --features redis -- --port 7862 --redis redis://127.0.0.1:6379 --upload-dir /tmp/shared-uploads
//! # A call on one replica, its poll on the other:
//! id=$(curl -s -X POST http://127.0.0.1:7861/gradio_api/call/add -H 'content-type: application/json' -d '{"data": [1, 2]}' | sed 's/.*"event_id":"\([0-9a-f]*\)".*/\1/')
//! curl -sN http://127.0.0.1:7862/gradio_api/call/add/$id
//! ```
//!
//! Endpoints: `add(a, b)`, `count(n, delay_ms = 100)` (streams 0 … n-1), `echo_file(file)` (a
//! copy of the upload) and `sleep(seconds)` (returns nothing when cancelled first). No token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use gradio_compat::backend::{BackendLimits, RedisBackend, RedisOptions};
use gradio_compat::server::{serve, shutdown_signal};
use gradio_compat::GradioCompat;

mod app;

/// One replica of a service that shares its calls, streams, sessions and files through Redis.
#[derive(Parser)]
struct Options {
    /// The port to listen on, on 127.0.0.1.
    #[arg(long, env = "PORT", default_value_t = 7861)]
    port: u16,
    /// The Redis (or Valkey) server every replica shares.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// The upload directory, on a volume every replica shares.
    #[arg(long)]
    upload_dir: PathBuf,
    /// How long a replica's calls outlive it, in seconds, before their pollers get an error.
    #[arg(long, default_value_t = 30)]
    lease_secs: u64,
    /// The prefix of this app's Redis keys (apps sharing a server use different ones).
    #[arg(long, default_value = "scale_out:")]
    prefix: String,
    /// With Sentinel: how many Redis replicas must have a call and its result before the
    /// client is told (up to 1 s each), so that a failover loses neither. 0: do not wait.
    #[arg(long, default_value_t = 0)]
    wait_replicas: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let mut limits = BackendLimits::default();
    limits.lease = Duration::from_secs(options.lease_secs.max(1));
    let mut redis_options = RedisOptions::default();
    if options.wait_replicas > 0 {
        redis_options.wait_for_replicas = Some((options.wait_replicas, Duration::from_secs(1)));
    }
    let backend =
        RedisBackend::connect_with(&options.redis, &options.prefix, limits, redis_options).await?;
    std::fs::create_dir_all(&options.upload_dir)
        .map_err(|e| format!("cannot create {}: {e}", options.upload_dir.display()))?;
    let service = GradioCompat::builder(app::registry())
        .backend(Arc::new(backend))
        .upload_dir(&options.upload_dir)
        .build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    println!(
        "replica on http://{}/ (Redis {}, uploads in {})",
        listener.local_addr()?,
        options.redis,
        options.upload_dir.display()
    );
    serve(listener, service, shutdown_signal()).await?;
    Ok(())
}
