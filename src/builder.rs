//! The builder: settings with defaults, an optional authorize hook and backend, and the checks
//! and precomputation of `build`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{CompiledParam, Signature};
use crate::auth::{AuthRejection, AuthRequest, AuthorizeFn};
use crate::backend::{Backend, BackendLimits, MemoryBackend};
use crate::cancel::Running;
use crate::concurrency::Limiter;
use crate::config::Config;
use crate::cors::Cors;
use crate::direct::serde_enforces;
use crate::documents::{app_config, info, openapi};
use crate::error::BuildError;
use crate::files::{delete_files, FileStore};
use crate::housekeeping::periodically;
use crate::registry::{Registry, Visibility};
use crate::state::{CompiledEndpoint, Inner};

/// Builds a [`GradioCompat`](crate::GradioCompat): settings with defaults, an optional
/// authorize hook and backend.
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    registry: Registry,
    config: Config,
    authorize: Option<AuthorizeFn>,
    backend: Option<Arc<dyn Backend>>,
    /// The settings given that size the default in-memory backend.
    backend_settings: Vec<&'static str>,
}

/// A service's state before it is shared, with what is bound to it once it is.
pub(crate) struct BuiltState {
    pub(crate) inner: Inner,
    /// The MCP tools, when MCP is on: their server calls the shared state.
    #[cfg(feature = "mcp")]
    pub(crate) mcp_tools: Option<crate::mcp::Catalog>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("registry", &self.registry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Builder {
    pub(crate) fn new(registry: Registry) -> Self {
        Self {
            registry,
            config: Config::default(),
            authorize: None,
            backend: None,
            backend_settings: Vec::new(),
        }
    }
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Builder {
    /// The API prefix (default `/gradio_api`, which the official clients expect: they read it
    /// from `/config`). To mount the app under a path, set [`root_path`](Self::root_path)
    /// instead.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// The path the app is mounted under, as clients see it (Gradio's `root_path`; default
    /// `""`, the root). With `root_path("/tools")` and `nest_service("/tools", gradio)`,
    /// clients connect to `http://host/tools/`, and `/config`'s `root`, file URLs and code
    /// snippets all carry `/tools`. The service answers a request whether or not the mount
    /// path was stripped from it. A reverse proxy's `X-Forwarded-Prefix` header wins over
    /// this setting for its request; [`public_url`](Self::public_url), when set, is the whole
    /// address and wins over both.
    pub fn root_path(mut self, path: impl Into<String>) -> Self {
        self.config.root_path = path.into();
        self
    }

    /// How often a waiting call stream sends a heartbeat (default 15 s).
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.config.heartbeat_interval = every;
        self
    }

    /// The largest JSON request body in bytes (default 16 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// Finished results kept until polled (default 10,000); the oldest are evicted first.
    /// A setting of the default in-memory backend.
    pub fn result_capacity(mut self, results: usize) -> Self {
        self.config.result_capacity = results;
        self.backend_settings.push("result_capacity");
        self
    }

    /// How long a finished result waits for its poll (default 10 minutes), and an unread,
    /// idle queue session is kept. A setting of the default in-memory backend.
    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.config.result_ttl = ttl;
        self.backend_settings.push("result_ttl");
        self
    }

    /// Calls that may be unfinished at once, over `/call` and the queue together (default
    /// 10,000); past this, calls get 503. A setting of the default in-memory backend.
    pub fn max_unfinished(mut self, calls: usize) -> Self {
        self.config.max_unfinished = calls;
        self.backend_settings.push("max_unfinished");
        self
    }

    /// Where uploads are stored (default: a fresh directory under the system temp dir).
    pub fn upload_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.upload_dir = Some(dir.into());
        self
    }

    /// The largest uploaded file in bytes (default 100 MiB).
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.config.max_file_bytes = bytes;
        self
    }

    /// The largest upload request in bytes (default 100 MiB).
    pub fn max_upload_bytes(mut self, bytes: u64) -> Self {
        self.config.max_upload_bytes = bytes;
        self
    }

    /// The most parts in one upload request (default 1,000).
    pub fn max_upload_parts(mut self, parts: usize) -> Self {
        self.config.max_upload_parts = parts;
        self
    }

    /// The most uploaded files kept at once (default 10,000).
    pub fn max_uploaded_files(mut self, files: usize) -> Self {
        self.config.max_uploaded_files = files;
        self
    }

    /// How long an uploaded file is kept before it is deleted (default 1 hour).
    pub fn upload_ttl(mut self, ttl: Duration) -> Self {
        self.config.upload_ttl = ttl;
        self
    }

    /// Also lets handlers receive, and `file=` serve, files inside this directory.
    pub fn allow_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.allowed_dirs.push(dir.into());
        self
    }

    /// The token parameter's name (default `hf_token`).
    pub fn token_param(mut self, name: impl Into<String>) -> Self {
        self.config.token_param = name.into();
        self
    }

    /// How long a cancelled handler may run on before it is dropped (default 1 s).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.config.cancel_grace = grace;
        self
    }

    /// The app's public URL, for `/config`'s `root`, file URLs and code snippets (default:
    /// from each request's `Host` or `X-Forwarded-*` headers).
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.config.public_url = Some(url.into());
        self
    }

    /// Lets browser pages from these origins call the API (CORS). `"*"` allows any origin.
    /// Default: none, CORS is off and no CORS header is sent.
    pub fn cors_allow_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.cors_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// The largest result in bytes of JSON (default 16 MiB); larger ones fail the call.
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.config.max_output_bytes = bytes;
        self
    }

    /// Queue sessions open at once (default 10,000). A setting of the default in-memory
    /// backend.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self.backend_settings.push("max_sessions");
        self
    }

    /// Pending jobs per queue session (default 1,000); past this, joins get 503. A setting of
    /// the default in-memory backend.
    pub fn max_session_jobs(mut self, jobs: usize) -> Self {
        self.config.max_session_jobs = jobs;
        self.backend_settings.push("max_session_jobs");
        self
    }

    /// Serves every public endpoint as an MCP tool at `{prefix}/mcp` (streamable HTTP,
    /// stateless), with the tool list as JSON at `{prefix}/mcp/schema`. Calls go through the
    /// same authorize hook, token injection, limits and backend as `/call`. Default off.
    #[cfg(feature = "mcp")]
    pub fn mcp(mut self, on: bool) -> Self {
        self.config.mcp = on;
        self
    }

    /// Restricts the `Host` header values the MCP route accepts (`"example.com"` or
    /// `"example.com:8080"`), against DNS rebinding; other hosts get 403. Default: any host.
    #[cfg(feature = "mcp")]
    pub fn mcp_allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.mcp_allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Lets MCP file inputs name `http://` URLs on loopback, private or link-local addresses
    /// (default: refused, against server-side request forgery). For tests and closed networks.
    #[cfg(feature = "mcp")]
    pub fn mcp_fetch_private(mut self, allow: bool) -> Self {
        self.config.mcp_fetch_private = allow;
        self
    }

    /// Shows the text of handler panics to callers (default: "internal error" only).
    pub fn show_error(mut self, show: bool) -> Self {
        self.config.show_error = show;
        self
    }

    /// A hook that judges every call and upload before any job exists. It sees the request
    /// parts, the target and the effective token; an `Err` becomes a 401 or 403 JSON response.
    ///
    /// ```
    /// use gradio_compat::{AuthRejection, AuthTarget, GradioCompat, Registry};
    ///
    /// let builder = GradioCompat::builder(Registry::new()).authorize(|req| {
    ///     if req.target == AuthTarget::Upload || req.target == AuthTarget::Call("log") {
    ///         match req.token {
    ///             None => return Err(AuthRejection::Unauthorized("send Authorization: Bearer <token>".into())),
    ///             Some(t) if t != "secret" => return Err(AuthRejection::Forbidden("wrong token".into())),
    ///             Some(_) => {}
    ///         }
    ///     }
    ///     Ok(())
    /// });
    /// # drop(builder);
    /// ```
    pub fn authorize<F>(mut self, hook: F) -> Self
    where
        F: Fn(&AuthRequest<'_>) -> Result<(), AuthRejection> + Send + Sync + 'static,
    {
        self.authorize = Some(Arc::new(hook));
        self
    }

    /// Uses another backend (for example one shared by several replicas) instead of the
    /// in-memory default, [`MemoryBackend`]. The backend then keeps its own limits:
    /// `build` refuses the settings that size the default one (`result_capacity`,
    /// `result_ttl`, `max_unfinished`, `max_sessions`, `max_session_jobs`) rather than ignore
    /// them.
    ///
    /// Several services built with one `Arc` of a backend share their calls as replicas do.
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Checks the registry and settings and computes everything derivable: the shared state
    /// of a service ([`build`](Self::build) wraps it).
    pub(crate) fn into_state(self) -> Result<BuiltState, BuildError> {
        let Builder {
            registry,
            mut config,
            authorize,
            backend,
            backend_settings,
        } = self;
        if let (Some(_), Some(setting)) = (&backend, backend_settings.first()) {
            return Err(BuildError::InvalidConfig {
                setting,
                reason: "it sizes the default in-memory backend, and a backend of its own was \
                         given: set it in that backend's limits instead"
                    .to_owned(),
            });
        }
        let prefix = config.prefix.trim_end_matches('/').to_owned();
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(BuildError::InvalidConfig {
                setting: "prefix",
                reason: format!("{prefix:?} must start with '/' (or be empty)"),
            });
        }
        config.prefix = prefix;
        config.root_path = match crate::root_url::mount_path(&config.root_path) {
            Some(path) => path.to_owned(),
            None if config.root_path.is_empty() => String::new(),
            None => {
                return Err(BuildError::InvalidConfig {
                    setting: "root_path",
                    reason: format!(
                        "{:?} must be a path such as \"/tools\": it starts with '/', uses only \
                         A-Z a-z 0-9 - . _ ~ / %, has no . or .. segment and is at most 256 bytes",
                        config.root_path
                    ),
                })
            }
        };
        if config.heartbeat_interval.is_zero() {
            return Err(BuildError::InvalidConfig {
                setting: "heartbeat_interval",
                reason: "must be greater than zero".into(),
            });
        }

        if let Some(url) = &config.public_url {
            let safe = url.starts_with("http://") || url.starts_with("https://");
            let clean = !url.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '\'' | '`' | '$')
            });
            if !safe || !clean {
                return Err(BuildError::InvalidConfig {
                    setting: "public_url",
                    reason: format!(
                        "{url:?} must be an http(s) URL without quotes, spaces or shell characters"
                    ),
                });
            }
        }

        struct Built {
            sig: Signature,
            description: String,
            output: serde_json::Value,
            output_label: String,
            visibility: Visibility,
            streaming: bool,
            follow: bool,
            concurrency_limit: Option<usize>,
            max_waiting: Option<usize>,
        }
        let mut built: Vec<Built> = Vec::with_capacity(registry.endpoints.len());
        for endpoint in registry.endpoints {
            if let Some(error) = endpoint.error {
                return Err(error);
            }
            if !valid_name(&endpoint.name) {
                return Err(BuildError::InvalidEndpointName {
                    name: endpoint.name,
                });
            }
            if built.iter().any(|b| *b.sig.name == *endpoint.name) {
                return Err(BuildError::DuplicateEndpoint {
                    name: endpoint.name,
                });
            }
            let mut params = Vec::with_capacity(endpoint.params.len());
            for spec in endpoint.params {
                if params.iter().any(|p: &CompiledParam| *p.name == *spec.name) {
                    return Err(BuildError::DuplicateParameter {
                        endpoint: endpoint.name,
                        parameter: spec.name,
                    });
                }
                params.push(CompiledParam {
                    name: Arc::from(spec.name.as_str()),
                    spec,
                });
            }
            let token_index = params.iter().position(|p| *p.name == *config.token_param);
            let direct = endpoint.direct.filter(|_| {
                params
                    .iter()
                    .all(|p| serde_enforces(&p.spec.schema, &endpoint.defs))
            });
            built.push(Built {
                sig: Signature {
                    name: Arc::from(endpoint.name.as_str()),
                    names: params.iter().map(|p| p.name.clone()).collect(),
                    params,
                    defs: endpoint.defs,
                    binder: endpoint.binder,
                    direct,
                    token_index,
                },
                description: endpoint.description,
                output: endpoint.output,
                output_label: endpoint.output_label,
                visibility: endpoint.visibility,
                streaming: endpoint.streaming,
                follow: endpoint.follow,
                concurrency_limit: endpoint.concurrency_limit,
                max_waiting: endpoint.max_waiting,
            });
        }

        let docs: Vec<info::EndpointDoc<'_>> = built
            .iter()
            .map(|b| info::EndpointDoc {
                sig: &b.sig,
                description: &b.description,
                output: &b.output,
                output_label: &b.output_label,
                visibility: b.visibility,
                generator: b.streaming,
            })
            .collect();
        let (info_doc, info_all) = info::documents(&docs, &config.prefix);
        let openapi_doc =
            openapi::document(&docs, &config.prefix, &config.title, authorize.is_some());
        #[cfg(feature = "mcp")]
        let mcp_tools = config.mcp.then(|| crate::mcp::Catalog::build(&docs));
        let callable: Vec<&info::EndpointDoc<'_>> = docs
            .iter()
            .filter(|d| d.visibility != Visibility::Private)
            .collect();
        let app_doc = app_config::document(
            &callable,
            &app_config::AppSettings {
                version: &config.gradio_version,
                title: &config.title,
                prefix: &config.prefix,
                max_file_size: config.max_file_bytes,
                show_error: config.show_error,
            },
            // A random app id, as Gradio gives each launch; kept below 2^62.
            uuid::Uuid::new_v4().as_u64_pair().0 >> 2,
        );
        drop(callable);
        drop(docs);

        let mut endpoints = HashMap::new();
        let mut dependencies = Vec::new();
        let mut names = Vec::new();
        for b in built {
            if b.visibility == Visibility::Private {
                continue;
            }
            let has_file_output = crate::schema::mentions_file(&b.output, &b.sig.defs);
            names.push(format!("/{}", b.sig.name));
            dependencies.push(b.sig.name.clone());
            endpoints.insert(
                b.sig.name.clone(),
                CompiledEndpoint {
                    sig: b.sig,
                    has_file_output,
                    streaming: b.streaming,
                    follow: b.follow,
                    limiter: b.concurrency_limit.map(|n| Limiter::new(n, b.max_waiting)),
                },
            );
        }
        let endpoint_list = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };

        let upload_dir = match &config.upload_dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!(
                "gradio-compat-{}",
                crate::event_id::EventId::new_random().to_hex().as_str()
            )),
        };
        std::fs::create_dir_all(&upload_dir).map_err(BuildError::UploadDir)?;
        let upload_dir = std::fs::canonicalize(&upload_dir).map_err(BuildError::UploadDir)?;
        let allowed_dirs = config
            .allowed_dirs
            .iter()
            .map(|d| {
                std::fs::canonicalize(d).map_err(|e| BuildError::InvalidConfig {
                    setting: "allowed_dirs",
                    reason: format!("{}: {e}", d.display()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let backend: Arc<dyn Backend> = match backend {
            Some(backend) => backend,
            None => Arc::new(MemoryBackend::new(BackendLimits {
                result_capacity: config.result_capacity,
                result_ttl: config.result_ttl,
                max_unfinished: config.max_unfinished,
                max_sessions: config.max_sessions,
                max_session_jobs: config.max_session_jobs,
                ..BackendLimits::default()
            })),
        };
        periodically(
            Arc::downgrade(&backend),
            backend.sweep_interval(),
            |backend| async move {
                backend.sweep(Instant::now()).await;
            },
        );
        let files = Arc::new(FileStore::new(
            upload_dir,
            config.max_uploaded_files,
            config.upload_ttl,
            allowed_dirs,
            config.upload_dir.is_none(),
            backend.clone(),
        ));

        // This replica: cancel requests for its calls reach its running set; its lease is
        // renewed for as long as the service lives.
        let running = Arc::new(Running::default());
        let cancels = Arc::downgrade(&running);
        let runner = backend.attach(Arc::new(move |id| {
            if let Some(running) = cancels.upgrade() {
                running.cancel(id);
            }
        }));
        let renewer = backend.clone();
        periodically(
            Arc::downgrade(&running),
            (backend.lease() / 3).max(Duration::from_millis(50)),
            move |_| {
                let backend = renewer.clone();
                async move {
                    if let Err(e) = backend.renew(runner).await {
                        tracing::warn!(error = %e, "could not renew this replica's lease");
                    }
                }
            },
        );
        periodically(
            Arc::downgrade(&files),
            files.sweep_interval(),
            |files| async move {
                let mut expired = Vec::new();
                for (path, orig_name) in files.take_expired(Instant::now()) {
                    // Another replica used it lately: it lives on.
                    if files.shared_record_lives(&path).await {
                        files.restore(&path, orig_name);
                    } else {
                        expired.push(std::path::PathBuf::from(path));
                    }
                }
                if !expired.is_empty() {
                    let _ = tokio::task::spawn_blocking(move || delete_files(&expired)).await;
                }
            },
        );

        let cors = Cors::new(&config.cors_origins);
        let follows = Arc::new(crate::follows::FollowCalls::new(
            config.max_unfinished,
            config.result_ttl,
        ));
        periodically(
            Arc::downgrade(&follows),
            Duration::from_secs(1),
            |follows| async move {
                follows.sweep(Instant::now());
            },
        );
        let inner = Inner {
            info: info_doc,
            info_all,
            app_config: app_doc,
            openapi: openapi_doc,
            config,
            endpoints,
            dependencies,
            endpoint_list,
            backend,
            runner,
            files,
            running,
            follows,
            closing: AtomicBool::new(false),
            cors,
            authorize,
            mcp: None,
        };
        Ok(BuiltState {
            inner,
            #[cfg(feature = "mcp")]
            mcp_tools,
        })
    }
}
