//! The smallest useful server: one endpoint, `add(a, b)`, on 127.0.0.1:7860.
//!
//! ```sh
//! cargo run --example hello
//! curl -s -X POST http://127.0.0.1:7860/gradio_api/call/add -H 'content-type: application/json' -d '{"data": [1, 2]}'
//! curl -sN http://127.0.0.1:7860/gradio_api/call/add/<event_id>
//! ```
//!
//! Logs one line per call; `RUST_LOG=debug` adds one per request.

use gradio_compat::server::{serve, shutdown_signal};
use gradio_compat::{CallContext, GradioCompat, Registry};
use schemars::JsonSchema;
use serde::Deserialize;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
}

async fn add(args: AddArgs, _ctx: CallContext) -> Result<f64, String> {
    Ok(args.a + args.b)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The crate logs through `tracing`; the subscriber is the application's choice.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let service = GradioCompat::builder(Registry::new().typed("add", add)).build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:7860").await?;
    println!("info: http://{}/gradio_api/info", listener.local_addr()?);
    serve(listener, service, shutdown_signal()).await?;
    Ok(())
}
