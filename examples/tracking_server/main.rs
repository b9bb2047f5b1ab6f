//! An experiment tracker that keeps its data in SQLite and speaks the Gradio API and MCP;
//! Trackio's own client and CLI work against it, and its live dashboard is at `/`.
//!
//! ```sh
//! cargo run --example tracking_server                 # 127.0.0.1:7860; prints the Trackio line
//! HF_TOKEN=secret cargo run --example tracking_server # writes need this token
//! cargo run --example tracking_server -- --open-writes # anyone may write
//! cargo run --example tracking_server -- --port 8000 --host 0.0.0.0
//! ```
//!
//! Options (`--help` lists them): `--host` (default 127.0.0.1, or 0.0.0.0 on Spaces), `--port`
//! (default the `PORT` variable, else 7860; `--port` wins), `--write-token` (default the
//! `TRACKIO_WRITE_TOKEN` variable, else `HF_TOKEN`, else a random token made at the first start
//! and kept in the data directory), `--open-writes` (no token at all), `--shutdown-secs`
//! (default 8: on SIGINT or SIGTERM, running calls get this long to finish, then they are
//! cancelled and every open stream ends with a terminal frame; the process is gone within
//! 10 s). Reads never need a token.
//!
//! Logs go to stderr, one line per call; set `RUST_LOG` (default `info`; `debug` adds a line
//! per request).

mod app;
#[path = "write_token.rs"]
mod write_token;

/// `println!` that does not panic when stdout is gone (a closed pipe): the server stays up.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use std::sync::Arc;
use std::time::Duration;

/// An experiment tracker that speaks the Gradio API and MCP.
#[derive(clap::Parser)]
#[command(name = "tracking_server", version)]
struct Cli {
    /// The address to listen on [default: 127.0.0.1, or 0.0.0.0 on Hugging Face Spaces]
    #[arg(long)]
    host: Option<String>,
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 7860)]
    port: u16,
    /// The token writes need (log, bulk_log, media, artifacts, run changes, upload), sent as
    /// `Authorization: Bearer`, `X-Trackio-Write-Token`, `hf_token` or Trackio's
    /// `?write_token=` [default: the HF_TOKEN variable, else a random token kept in the data
    /// directory and printed at start]
    #[arg(long, env = "TRACKIO_WRITE_TOKEN", hide_env_values = true)]
    write_token: Option<String>,
    /// Let anyone write: no write token at all (reads are always open).
    #[arg(long, conflicts_with = "write_token")]
    open_writes: bool,
    /// On SIGINT or SIGTERM, how long running calls get to finish before they are cancelled
    /// (0 to 3600 seconds).
    #[arg(long, default_value_t = 8.0, value_parser = shutdown_secs)]
    shutdown_secs: f64,
    /// Where the data is kept (an SQLite database, created on start).
    #[arg(long, default_value = "./tracking-data")]
    data_dir: std::path::PathBuf,
}

fn shutdown_secs(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| (0.0..=3600.0).contains(s))
        .ok_or_else(|| format!("{text:?} is not a number of seconds from 0 to 3600"))
}

struct Options {
    data_dir: std::path::PathBuf,
    host: String,
    port: u16,
    /// The token given on the command line or in the environment.
    write_token: Option<String>,
    open_writes: bool,
    shutdown: Duration,
}

/// The options: the command line, then the environment (`PORT`, `TRACKIO_WRITE_TOKEN`, then
/// `HF_TOKEN`). Bad options end the process as clap does (status 2, with the usage).
fn parse_options() -> Options {
    let cli = <Cli as clap::Parser>::parse();
    let host = cli.host.unwrap_or_else(|| {
        if on_spaces() {
            "0.0.0.0".to_owned()
        } else {
            "127.0.0.1".to_owned()
        }
    });
    let write_token = cli
        .write_token
        .or_else(|| std::env::var("HF_TOKEN").ok())
        .filter(|t| !t.trim().is_empty());
    Options {
        data_dir: cli.data_dir,
        host,
        port: cli.port,
        write_token,
        open_writes: cli.open_writes,
        shutdown: Duration::from_secs_f64(cli.shutdown_secs),
    }
}

/// Whether the process runs on Hugging Face Spaces (the `SYSTEM` environment variable is
/// `spaces`): there the server binds `0.0.0.0`, elsewhere loopback.
fn on_spaces() -> bool {
    std::env::var("SYSTEM").is_ok_and(|v| v == "spaces")
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let options = parse_options();
    let tracker = match app::Tracker::open(&options.data_dir) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    let token = if options.open_writes {
        write_token::Token::Open
    } else {
        match options.write_token {
            Some(given) => write_token::Token::Given(given),
            None => match write_token::kept_or_new(&options.data_dir) {
                Ok(made) => write_token::Token::Kept(made),
                Err(e) => {
                    eprintln!("cannot start: {e}");
                    std::process::exit(1);
                }
            },
        }
    };
    let gradio = match app::service(tracker.clone(), token.expected().map(str::to_owned)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot build the service: {e}");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind((options.host.as_str(), options.port)).await
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}:{}: {e}", options.host, options.port);
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let shown = addr.replace("0.0.0.0", "127.0.0.1");
    say!("tracking server listening on http://{addr}");
    say!(
        "data: {}",
        options
            .data_dir
            .join(app::tracker::store::DB_FILE)
            .display()
    );
    say!("dashboard: http://{shown}/");
    say!("API schema: http://{shown}/gradio_api/info");
    say!("MCP server: http://{shown}/gradio_api/mcp (tools as JSON: http://{shown}/gradio_api/mcp/schema)");
    if let write_token::Token::Kept(t) = &token {
        say!(
            "write token: kept in {} (pass --write-token or TRACKIO_WRITE_TOKEN to choose one, --open-writes for none)",
            options.data_dir.join(write_token::FILE).display()
        );
        say!("log from Trackio: trackio.init(project=\"demo\", server_url=\"http://{shown}/?write_token={t}\")");
        say!(
            "  or: TRACKIO_WRITE_TOKEN={t} python train.py   # with server_url=\"http://{shown}/\""
        );
        say!("try: curl -s -X POST http://{shown}/gradio_api/call/log -H 'content-type: application/json' -H 'Authorization: Bearer {t}' -d '{{\"data\": [\"demo\", \"run-1\", {{\"loss\": 0.5}}]}}'");
    } else if token.expected().is_some() {
        say!("writes need the write token you gave (reads are open)");
        say!("log from Trackio: TRACKIO_WRITE_TOKEN=<your token> python train.py   # with trackio.init(project=\"demo\", server_url=\"http://{shown}/\")");
        say!("try: curl -s -X POST http://{shown}/gradio_api/call/log -H 'content-type: application/json' -H \"Authorization: Bearer $TRACKIO_WRITE_TOKEN\" -d '{{\"data\": [\"demo\", \"run-1\", {{\"loss\": 0.5}}]}}'");
    } else {
        say!("writes are OPEN (--open-writes): anyone who reaches this address may write");
        say!("log from Trackio: TRACKIO_WRITE_TOKEN=any python train.py   # with trackio.init(project=\"demo\", server_url=\"http://{shown}/\")");
        say!("try: curl -s -X POST http://{shown}/gradio_api/call/log -H 'content-type: application/json' -d '{{\"data\": [\"demo\", \"run-1\", {{\"loss\": 0.5}}]}}'");
    }
    say!("then: curl -sN http://{shown}/gradio_api/call/log/<event_id>");
    let app = app::router(gradio.clone(), tracker);
    let bound = options.shutdown;
    // Installed now, before serving, so that an early signal is not missed.
    let signal = gradio_compat::server::shutdown_signal();
    let shutdown = async move {
        signal.await;
        say!(
            "shutting down: running calls get {} s to finish",
            bound.as_secs_f64()
        );
        let cancelled = gradio.shutdown(bound).await;
        if cancelled > 0 {
            say!("cancelled {cancelled} calls that were still running");
        }
    };
    let options =
        gradio_compat::server::ServeOptions::default().shutdown_grace(Duration::from_secs(1));
    if let Err(e) = gradio_compat::server::serve_with(listener, app, shutdown, options).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}
