//! The Gradio app mounted under `/tools` inside an axum application, beside the
//! application's own `/health` route. The official clients connect to
//! `http://127.0.0.1:7860/tools/`: `/config`'s `root`, file URLs and code snippets all carry
//! `/tools`.
//!
//! ```sh
//! cargo run --example axum_mount            # port from PORT, default 7860
//! curl -s http://127.0.0.1:7860/health
//! curl -s http://127.0.0.1:7860/tools/config
//! curl -s http://127.0.0.1:7860/tools/gradio_api/info
//! ```
//!
//! ```python
//! from gradio_client import Client
//! print(Client("http://127.0.0.1:7860/tools/").predict("Ada", api_name="/greet"))
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let port: u16 = match std::env::var("PORT") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("PORT={v:?} is not a port number"))?,
        Err(_) => 7860,
    };
    // `root_path` tells the service where it is mounted, for the URLs it hands out.
    let gradio = GradioCompat::builder(Registry::new().typed("greet", greet))
        .root_path("/tools")
        .build()?;
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest_service("/tools", gradio);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!("Gradio app: http://{addr}/tools/ (API schema: http://{addr}/tools/gradio_api/info)");
    println!("health:     http://{addr}/health");
    axum::serve(listener, app).await?;
    Ok(())
}
