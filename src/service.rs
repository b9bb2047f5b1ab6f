//! The service: building it from a registry, routing requests, and the hyper and tower
//! `Service` implementations.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response};
use tracing::Instrument;

use crate::args::{CompiledParam, Signature};
use crate::auth::{AuthRejection, AuthRequest, AuthorizeFn};
use crate::body::{without_body, ResponseBody};
use crate::call_log::{record_route, request_done, request_span, request_started};
use crate::cancel::Running;
use crate::concurrency::Limiter;
use crate::config::Config;
use crate::cors::Cors;
use crate::error::{ApiError, BuildError};
use crate::files::{delete_files, FileStore};
use crate::housekeeping::periodically;
use crate::live::LiveUpdates;
use crate::memory_store::{MemoryStore, StoreLimits};
use crate::queue::{QueueLimits, Sessions};
use crate::registry::Registry;
use crate::registry::Visibility;
use crate::root_url::request_root;
use crate::route_path::{parse as parse_route, strip_prefix, Route};
use crate::routes::{app_config, call, cancel, file, info, queue, upload};
use crate::store::EventStore;
use crate::template::Template;
use std::sync::atomic::{AtomicBool, Ordering};

/// A built, callable endpoint (private ones are not kept).
pub(crate) struct CompiledEndpoint {
    pub(crate) sig: Signature,
    /// Whether results may hold files whose URLs must be filled in.
    pub(crate) has_file_output: bool,
    /// A generator: partial results before the final one.
    pub(crate) streaming: bool,
    pub(crate) limiter: Option<Arc<Limiter>>,
}

/// Everything the routes share; immutable after build except the stores.
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) endpoints: HashMap<Arc<str>, CompiledEndpoint>,
    /// Endpoint names by `fn_index`, as `/config` lists them.
    pub(crate) dependencies: Vec<Arc<str>>,
    pub(crate) endpoint_list: String,
    pub(crate) info: Template,
    pub(crate) info_all: Template,
    pub(crate) app_config: Template,
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) files: Arc<FileStore>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) running: Running,
    pub(crate) live: Arc<LiveUpdates>,
    /// Set by [`GradioCompat::shutdown`]: new calls are refused.
    pub(crate) closing: AtomicBool,
    pub(crate) cors: Cors,
    pub(crate) authorize: Option<AuthorizeFn>,
}

impl Inner {
    /// `api` when it names a callable endpoint (for logs: unknown path text is not logged).
    fn known<'a>(&self, api: &'a str) -> Option<&'a str> {
        self.endpoints.contains_key(api).then_some(api)
    }

    /// `path` without the mount path (`root_path`), when it starts with it: a framework or
    /// proxy in front did not strip it.
    fn unmounted<'a>(&self, path: &'a str) -> Option<&'a str> {
        let root = self.config.root_path.as_str();
        if root.is_empty() {
            return None;
        }
        path.strip_prefix(root).filter(|rest| rest.starts_with('/'))
    }

    /// The route `path` names: as it is, else without the mount path.
    fn route_of<'a>(&self, path: &'a str, method: &Method) -> Route<'a> {
        let prefix = self.config.prefix.as_str();
        match parse_route(path, prefix, method) {
            Route::Unknown => self
                .unmounted(path)
                .map_or(Route::Unknown, |rest| parse_route(rest, prefix, method)),
            route => route,
        }
    }

    pub(crate) fn endpoint(&self, api: &str) -> Result<&CompiledEndpoint, ApiError> {
        self.endpoints.get(api).ok_or_else(|| {
            ApiError::not_found(format!(
                "unknown endpoint \"/{api}\"; available endpoints: {} (see GET {}/info)",
                self.endpoint_list, self.config.prefix
            ))
        })
    }
}

/// Speaks the Gradio HTTP API for a [`Registry`].
///
/// It is a `hyper` service and a `tower` service (`Error = Infallible`: every failure is a
/// JSON response), cheap to clone, and can be mounted under any path. See the crate docs for
/// the routes.
#[derive(Clone)]
pub struct GradioCompat {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GradioCompat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradioCompat")
            .field("prefix", &self.inner.config.prefix)
            .field("endpoints", &self.inner.endpoint_list)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GradioCompat`]: settings with defaults, an optional authorize hook and store.
pub struct Builder {
    registry: Registry,
    config: Config,
    authorize: Option<AuthorizeFn>,
    store: Option<Arc<dyn EventStore>>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("registry", &self.registry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GradioCompat {
    /// Starts building a service for this registry.
    pub fn builder(registry: Registry) -> Builder {
        Builder {
            registry,
            config: Config::default(),
            authorize: None,
            store: None,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The directory uploads are stored in.
    pub fn upload_dir(&self) -> &std::path::Path {
        self.inner.files.dir()
    }

    /// Whether this service answers `path` (its API prefix); a server that routes by hand
    /// can send only those requests here.
    pub fn owns_path(&self, path: &str) -> bool {
        let prefix = self.inner.config.prefix.as_str();
        let answers =
            |p: &str| p == "/config" || p == "/config/" || strip_prefix(p, prefix).is_some();
        answers(path) || self.inner.unmounted(path).is_some_and(answers)
    }

    /// Drains the service for a graceful shutdown: new calls get 503 at once, running calls
    /// get up to `bound` to finish, and whatever still runs then is cancelled (its handler
    /// gets the cancel grace period). Every open `/call` or queue stream thus ends with a
    /// terminal frame instead of hanging. Returns how many calls had to be cancelled.
    ///
    /// Call it from the `shutdown` future given to [`serve`](crate::serve), so that the
    /// connections still carry the terminal frames while it runs.
    pub async fn shutdown(&self, bound: Duration) -> usize {
        let inner = &self.inner;
        inner.closing.store(true, Ordering::Release);
        // Woken by the last call's end, not by polling.
        let now = tokio::time::Instant::now();
        if inner.running.idle_by(now + bound).await {
            return 0;
        }
        let cancelled = inner.running.cancel_all();
        let grace = inner.config.cancel_grace + Duration::from_millis(100);
        inner
            .running
            .idle_by(tokio::time::Instant::now() + grace)
            .await;
        cancelled
    }

    /// Answers one request. Never fails: errors are JSON responses.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let head = request.method() == Method::HEAD;
        let cors = &self.inner.cors;
        if let Some(preflight) = cors.preflight(request.method(), request.headers()) {
            return preflight;
        }
        let span = request_span(request.method());
        let started = request_started(&span);
        let request_headers = cors.enabled().then(|| request.headers().clone());
        // Without a subscriber that wants the span, the route's future is not wrapped (and
        // not moved into a wrapper).
        let routed = if span.is_disabled() {
            self.route(request, &span).await
        } else {
            self.route(request, &span).instrument(span.clone()).await
        };
        let mut response = match routed {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        request_done(&span, response.status(), started);
        if let Some(headers) = &request_headers {
            cors.decorate(headers, &mut response);
        }
        response.headers_mut().insert(
            "x-content-type-options",
            http::HeaderValue::from_static("nosniff"),
        );
        if head {
            without_body(response)
        } else {
            response
        }
    }

    async fn route<B>(
        &self,
        request: Request<B>,
        span: &tracing::Span,
    ) -> Result<Response<ResponseBody>, ApiError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &self.inner;
        let prefix = inner.config.prefix.as_str();
        // A `Uri` clone shares its bytes: no allocation.
        let uri = request.uri().clone();
        let path = uri.path();
        let method = request.method().clone();
        let readable = method == Method::GET || method == Method::HEAD;
        let head = method == Method::HEAD;
        let root = || {
            request_root(
                request.headers(),
                inner.config.public_url.as_deref(),
                &inner.config.root_path,
            )
        };
        let route = inner.route_of(path, &method);
        if !span.is_disabled() {
            record_route(
                span,
                route.family(),
                route.api().and_then(|a| inner.known(a)),
            );
        }
        match route {
            Route::Config => {
                if !readable {
                    return Err(ApiError::method_not_allowed("/config", "GET, HEAD"));
                }
                Ok(app_config::respond(&inner.app_config, &root()))
            }
            Route::File(file_path) => {
                if !readable {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/file="),
                        "GET, HEAD",
                    ));
                }
                file::serve(inner, file_path, head).await
            }
            Route::Info => {
                if !readable {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/info"),
                        "GET, HEAD",
                    ));
                }
                let doc = if info::wants_all(request.uri().query()) {
                    &inner.info_all
                } else {
                    &inner.info
                };
                Ok(info::respond(doc, &root()))
            }
            Route::QueueJoin => {
                if method != Method::POST {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/queue/join"),
                        "POST",
                    ));
                }
                let (parts, body) = request.into_parts();
                queue::join(inner, parts, body).await
            }
            Route::QueueData => {
                if !readable {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/queue/data"),
                        "GET, HEAD",
                    ));
                }
                if head {
                    return Ok(call::event_stream(crate::body::empty()));
                }
                queue::data(inner, request.uri().query())
            }
            Route::Cancel(name) => {
                if method != Method::POST {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/{name}"),
                        "POST",
                    ));
                }
                let (parts, body) = request.into_parts();
                cancel::cancel(inner, parts, body, name).await
            }
            Route::Upload => {
                if method != Method::POST {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/upload"),
                        "POST",
                    ));
                }
                let (parts, body) = request.into_parts();
                upload::upload(inner, parts, body).await
            }
            Route::Call { api, form } => {
                if method != Method::POST {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/call/{api}"),
                        "POST",
                    ));
                }
                let (parts, body) = request.into_parts();
                call::start(inner, parts, body, api, form).await
            }
            Route::Poll { api, event_id } => {
                if !readable {
                    return Err(ApiError::method_not_allowed(
                        &format!("{prefix}/call/{api}/{{event_id}}"),
                        "GET, HEAD",
                    ));
                }
                call::poll(inner, api, event_id, head)
            }
            Route::Unknown => Err(no_route(path, prefix)),
        }
    }
}

fn no_route(path: &str, prefix: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    ApiError::not_found(format!(
        "no route {shown:?}; this server answers GET /config, GET {prefix}/info, \
         POST {prefix}/call/{{api}}, GET {prefix}/call/{{api}}/{{event_id}}, POST {prefix}/upload, \
         GET {prefix}/file={{path}}, POST {prefix}/queue/join, GET {prefix}/queue/data and \
         POST {prefix}/cancel"
    ))
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
    pub fn result_capacity(mut self, results: usize) -> Self {
        self.config.result_capacity = results;
        self
    }

    /// How long a finished result waits for its poll (default 10 minutes).
    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.config.result_ttl = ttl;
        self
    }

    /// Calls that may be unfinished at once (default 10,000); past this, calls get 503.
    pub fn max_unfinished(mut self, calls: usize) -> Self {
        self.config.max_unfinished = calls;
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

    /// Queue sessions open at once (default 10,000).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// Shows the text of handler panics to callers (default: "internal error" only).
    pub fn show_error(mut self, show: bool) -> Self {
        self.config.show_error = show;
        self
    }

    /// Replaces all settings at once.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
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

    /// Uses another event store (for example one shared by several replicas) instead of the
    /// in-memory default. The store then enforces its own limits, and the capacity, TTL and
    /// unfinished settings here no longer apply.
    pub fn store(mut self, store: Arc<dyn EventStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks the registry and settings and computes everything derivable (the info JSON,
    /// parameter tables). Must be called inside a tokio runtime for results to be swept on
    /// a timer; outside one, they are swept as new results arrive.
    pub fn build(self) -> Result<GradioCompat, BuildError> {
        let Builder {
            registry,
            mut config,
            authorize,
            store,
        } = self;
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
            built.push(Built {
                sig: Signature {
                    name: Arc::from(endpoint.name.as_str()),
                    params,
                    defs: endpoint.defs,
                    binder: endpoint.binder,
                    token_index,
                },
                description: endpoint.description,
                output: endpoint.output,
                output_label: endpoint.output_label,
                visibility: endpoint.visibility,
                streaming: endpoint.streaming,
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
        let files = Arc::new(FileStore::new(
            upload_dir,
            config.max_uploaded_files,
            config.upload_ttl,
            allowed_dirs,
            config.upload_dir.is_none(),
        ));

        let store: Arc<dyn EventStore> = match store {
            Some(store) => store,
            None => Arc::new(MemoryStore::new(StoreLimits {
                result_capacity: config.result_capacity,
                result_ttl: config.result_ttl,
                max_unfinished: config.max_unfinished,
            })),
        };
        periodically(
            Arc::downgrade(&store),
            store.sweep_interval(),
            |store| async move {
                store.sweep(Instant::now());
            },
        );
        periodically(
            Arc::downgrade(&files),
            files.sweep_interval(),
            |files| async move {
                let expired = files.take_expired(Instant::now());
                if !expired.is_empty() {
                    let _ = tokio::task::spawn_blocking(move || delete_files(&expired)).await;
                }
            },
        );

        let sessions = Arc::new(Sessions::new(QueueLimits {
            max_sessions: config.max_sessions,
            max_jobs: config.max_unfinished,
            max_jobs_per_session: config.max_session_jobs,
            idle_ttl: config.result_ttl,
        }));
        let live = Arc::new(LiveUpdates::new(
            config.max_unfinished.saturating_add(config.result_capacity),
        ));
        let ttl = config.result_ttl;
        let live_ref = Arc::downgrade(&live);
        periodically(
            Arc::downgrade(&sessions),
            sessions.sweep_interval(),
            move |sessions| {
                let live = live_ref.upgrade();
                async move {
                    let now = Instant::now();
                    sessions.sweep(now);
                    if let Some(live) = live {
                        live.sweep(now, ttl);
                    }
                }
            },
        );

        let cors = Cors::new(&config.cors_origins);
        Ok(GradioCompat {
            inner: Arc::new(Inner {
                info: info_doc,
                info_all,
                app_config: app_doc,
                config,
                endpoints,
                dependencies,
                endpoint_list,
                store,
                files,
                sessions,
                running: Running::default(),
                live,
                closing: AtomicBool::new(false),
                cors,
                authorize,
            }),
        })
    }
}

/// The future of one request.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

impl<B> hyper::service::Service<Request<B>> for GradioCompat
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

impl<B> tower_service::Service<Request<B>> for GradioCompat
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        hyper::service::Service::call(&*self, request)
    }
}
