//! The Gradio API inside an axum application, beside the application's own routes.
//!
//! ```sh
//! cargo run --example axum_mount
//! curl -s http://127.0.0.1:7860/health
//! curl -s http://127.0.0.1:7860/gradio_api/info
//! ```

use axum::routing::get;
use axum::Router;
use gradio_compat::{CallContext, GradioCompat, Registry};
use schemars::JsonSchema;
use serde::Deserialize;

/// Greets someone.
#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
}

async fn greet(args: GreetArgs, _ctx: CallContext) -> Result<String, String> {
    Ok(format!("Hello, {}!", args.name))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gradio = GradioCompat::builder(Registry::new().typed("greet", greet)).build()?;
    // The service keeps its `/gradio_api` prefix, so route the whole subtree to it unchanged.
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service("/gradio_api/{*rest}", gradio);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:7860").await?;
    println!("info: http://{}/gradio_api/info", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
