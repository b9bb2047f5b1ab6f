//! Service settings and their defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of a [`GradioCompat`](crate::GradioCompat) service, as
/// [`GradioCompat::config`](crate::GradioCompat::config) reports them. They are set in one
/// way only, through the [`Builder`](crate::Builder) methods of the same names; every field is
/// documented with its default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The API prefix. Default `/gradio_api`.
    pub prefix: String,
    /// The path the app is mounted under, as clients see it (Gradio's `root_path`), e.g.
    /// `/tools` for `Router::new().nest_service("/tools", gradio)`. Every URL the service
    /// hands out carries it; a request's `X-Forwarded-Prefix` header wins over it. Requests
    /// are answered whether or not the mount path was stripped from their path. Default `""`
    /// (mounted at the root).
    pub root_path: String,
    /// How often a waiting call stream sends `event: heartbeat`. Default 15 s.
    pub heartbeat_interval: Duration,
    /// The largest JSON request body, in bytes; larger ones get 413. Default 16 MiB.
    pub max_body_bytes: usize,
    /// Finished results kept until polled; past this the oldest are evicted. Default 10,000.
    pub result_capacity: usize,
    /// How long a finished result waits for its poll. Default 10 minutes.
    pub result_ttl: Duration,
    /// Calls that may be unfinished at once; past this, calls get 503. Default 10,000.
    pub max_unfinished: usize,
    /// Where uploads are stored. Default: a fresh directory under the system temp dir.
    pub upload_dir: Option<PathBuf>,
    /// The largest uploaded file, in bytes. Default 100 MiB.
    pub max_file_bytes: u64,
    /// The largest upload request, in bytes. Default 100 MiB.
    pub max_upload_bytes: u64,
    /// The most parts one upload request may have. Default 1,000.
    pub max_upload_parts: usize,
    /// The most uploaded files kept at once; past this, uploads get 507. Default 10,000.
    pub max_uploaded_files: usize,
    /// How long an uploaded file is kept; older ones are deleted. Default 1 hour.
    pub upload_ttl: Duration,
    /// Directories whose files handlers may receive and `file=` may serve, besides uploads.
    /// Default none.
    pub allowed_dirs: Vec<PathBuf>,
    /// The name of the token parameter that receives the bearer token when the caller leaves
    /// it blank. Default `hf_token`.
    pub token_param: String,
    /// How long a cancelled handler may run on to notice the cancel and clean up before it
    /// is dropped. Default 1 s.
    pub cancel_grace: Duration,
    /// Queue sessions (`session_hash`es) open at once; past this, joins get 503. Default 10,000.
    pub max_sessions: usize,
    /// Pending jobs per queue session; past this, joins get 503. Default 1,000.
    pub max_session_jobs: usize,
    /// The public URL of the app (e.g. `https://me-app.hf.space`), for `/config`'s `root`, file
    /// URLs and code snippets. Default: taken from each request's `Host` or
    /// `X-Forwarded-Host`/`X-Forwarded-Proto`.
    pub public_url: Option<String>,
    /// The Gradio version `/config` announces; the official clients check it. Default `6.31.0`.
    pub gradio_version: String,
    /// The app title in `/config`. Default `Gradio`.
    pub title: String,
    /// Origins whose browser pages may call the API (CORS); `"*"` for any. Default none: CORS
    /// is off.
    pub cors_origins: Vec<String>,
    /// The largest result a call may return, in bytes of JSON; a larger one fails the call
    /// with a clear error instead of being stored. Default 16 MiB.
    pub max_output_bytes: usize,
    /// Show the text of a handler's panic to callers. Default `false`: they see "internal
    /// error" only, since panic messages can reveal internals.
    pub show_error: bool,
    /// Serve the registry's public endpoints as MCP tools at `{prefix}/mcp` (feature `mcp`).
    /// Default `false`.
    pub mcp: bool,
    /// The `Host` values (`name` or `name:port`) the MCP route answers; any other gets 403,
    /// against DNS rebinding. Default empty: any host, like every other route, so that a
    /// server behind a proxy or on Hugging Face Spaces works as it is; set it to the names
    /// your server is reached by to restrict it.
    pub mcp_allowed_hosts: Vec<String>,
    /// Let MCP file inputs name `http://` URLs on loopback, private or link-local addresses,
    /// which the server then downloads. Default `false`: such URLs are refused, so that a tool
    /// call cannot make the server read its own network. (URLs of this server's own files
    /// never need a download.)
    pub mcp_fetch_private: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: "/gradio_api".to_owned(),
            root_path: String::new(),
            heartbeat_interval: Duration::from_secs(15),
            max_body_bytes: 16 * 1024 * 1024,
            result_capacity: 10_000,
            result_ttl: Duration::from_secs(600),
            max_unfinished: 10_000,
            upload_dir: None,
            max_file_bytes: 100 * 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            max_upload_parts: 1_000,
            max_uploaded_files: 10_000,
            upload_ttl: Duration::from_secs(3600),
            allowed_dirs: Vec::new(),
            token_param: "hf_token".to_owned(),
            cancel_grace: Duration::from_secs(1),
            max_sessions: 10_000,
            max_session_jobs: 1_000,
            public_url: None,
            gradio_version: "6.31.0".to_owned(),
            title: "Gradio".to_owned(),
            show_error: false,
            max_output_bytes: 16 * 1024 * 1024,
            cors_origins: Vec::new(),
            mcp: false,
            mcp_allowed_hosts: Vec::new(),
            mcp_fetch_private: false,
        }
    }
}
