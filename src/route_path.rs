//! Which route a request path names: the path (relative to the mount) is parsed once into a
//! [`Route`], which the service dispatches on and the request span is labelled with.

use http::Method;

use crate::request_body::BodyForm;

/// A route of the service, with the parts of the path it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/config` (at the mount root, not under the prefix).
    Config,
    /// `{p}/info`.
    Info,
    /// `{p}/openapi.json`.
    OpenApi,
    /// `{p}/file={path}`, with the raw (still percent-encoded) path.
    File(&'a str),
    /// `{p}/queue/join`.
    QueueJoin,
    /// `{p}/queue/data`.
    QueueData,
    /// `{p}/cancel` or `{p}/reset` (the name).
    Cancel(&'a str),
    /// `{p}/upload`.
    Upload,
    /// `POST {p}/call/{api}` or `POST {p}/call/v2/{api}`.
    Call { api: &'a str, form: BodyForm },
    /// `{p}/call/{api}/{event_id}` (also under `v2`).
    Poll { api: &'a str, event_id: &'a str },
    /// `{p}/mcp...`: the MCP routes, whatever the method (they check it themselves).
    Mcp(McpRoute),
    /// Anything else.
    Unknown,
}

/// Which MCP route a path under `{p}/mcp` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum McpRoute {
    /// `{p}/mcp` or `{p}/mcp/http` (with or without a trailing slash): the transport.
    Transport,
    /// `{p}/mcp/schema`: the tool list as JSON.
    Schema,
    /// Any other path under `{p}/mcp`.
    Other,
}

impl Route<'_> {
    /// The route family, as logs name it.
    pub(crate) fn family(&self) -> &'static str {
        match self {
            Route::Config => "config",
            Route::Info => "info",
            Route::OpenApi => "openapi",
            Route::File(_) => "file",
            Route::QueueJoin => "queue_join",
            Route::QueueData => "queue_data",
            Route::Cancel(_) => "cancel",
            Route::Upload => "upload",
            Route::Call { .. } => "call",
            Route::Poll { .. } => "poll",
            Route::Mcp(_) => "mcp",
            Route::Unknown => "unknown",
        }
    }

    /// Whether the route is read (`GET`/`HEAD`) rather than posted to (`POST`).
    pub(crate) fn reads(&self) -> bool {
        matches!(
            self,
            Route::Config
                | Route::Info
                | Route::OpenApi
                | Route::File(_)
                | Route::QueueData
                | Route::Poll { .. }
        )
    }

    /// The route as error messages show it, e.g. `/gradio_api/call/add/{event_id}`.
    pub(crate) fn shown(&self, prefix: &str) -> String {
        match self {
            Route::Config => "/config".to_owned(),
            Route::Info => format!("{prefix}/info"),
            Route::OpenApi => format!("{prefix}/openapi.json"),
            Route::File(_) => format!("{prefix}/file="),
            Route::QueueJoin => format!("{prefix}/queue/join"),
            Route::QueueData => format!("{prefix}/queue/data"),
            Route::Cancel(name) => format!("{prefix}/{name}"),
            Route::Upload => format!("{prefix}/upload"),
            Route::Call { api, .. } => format!("{prefix}/call/{api}"),
            Route::Poll { api, .. } => format!("{prefix}/call/{api}/{{event_id}}"),
            Route::Mcp(McpRoute::Schema) => format!("{prefix}/mcp/schema"),
            Route::Mcp(_) => format!("{prefix}/mcp"),
            Route::Unknown => "(no route)".to_owned(),
        }
    }

    /// The endpoint name in the path, for the call and poll routes.
    pub(crate) fn api(&self) -> Option<&str> {
        match self {
            Route::Call { api, .. } | Route::Poll { api, .. } => Some(api),
            _ => None,
        }
    }
}

/// Parses `path` (already without the mount path). Every route also accepts a trailing
/// slash; no allocation.
pub(crate) fn parse<'a>(path: &'a str, prefix: &str, _method: &Method) -> Route<'a> {
    if path == "/config" || path == "/config/" {
        return Route::Config;
    }
    let Some(rest) = strip_prefix(path, prefix) else {
        return Route::Unknown;
    };
    if let Some(file_path) = rest.strip_prefix("/file=") {
        return Route::File(file_path);
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if let Some(mcp) = rest.strip_prefix("/mcp") {
        if mcp.is_empty() || mcp.starts_with('/') {
            return Route::Mcp(match mcp {
                "" | "/http" => McpRoute::Transport,
                "/schema" => McpRoute::Schema,
                _ => McpRoute::Other,
            });
        }
    }
    // Up to five segments; more never match a route.
    let mut parts = rest.split('/').skip(1);
    let mut segments: [&str; 5] = [""; 5];
    let mut count = 0;
    for segment in parts.by_ref().take(5) {
        segments[count] = segment;
        count += 1;
    }
    if parts.next().is_some() {
        return Route::Unknown;
    }
    match segments[..count] {
        ["info"] => Route::Info,
        ["openapi.json"] => Route::OpenApi,
        ["queue", "join"] => Route::QueueJoin,
        ["queue", "data"] => Route::QueueData,
        [name @ ("cancel" | "reset")] => Route::Cancel(name),
        ["upload"] => Route::Upload,
        // Whatever the method: the method check then answers 405 with `Allow: POST`.
        ["call", "v2", api] => Route::Call {
            api,
            form: BodyForm::Keywords,
        },
        ["call", api] => Route::Call {
            api,
            form: BodyForm::Data,
        },
        ["call", "v2", api, event_id] | ["call", api, event_id] => Route::Poll { api, event_id },
        _ => Route::Unknown,
    }
}

/// `path` without the API prefix, when it is under it.
pub(crate) fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let p = "/gradio_api";
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(parse("/config/", p, &get), Route::Config);
        assert_eq!(parse("/gradio_api/info/", p, &get), Route::Info);
        assert_eq!(parse("/gradio_api/file=/a/b", p, &get), Route::File("/a/b"));
        assert_eq!(parse("/gradio_api/reset", p, &post), Route::Cancel("reset"));
        assert_eq!(
            parse("/gradio_api/call/v2/add", p, &post),
            Route::Call {
                api: "add",
                form: BodyForm::Keywords
            }
        );
        assert_eq!(
            parse("/gradio_api/call/add/abc", p, &get),
            Route::Poll {
                api: "add",
                event_id: "abc"
            }
        );
        assert_eq!(
            parse("/gradio_api/call/v2/add/abc", p, &get),
            Route::Poll {
                api: "add",
                event_id: "abc"
            }
        );
        assert_eq!(parse("/gradio_apix/info", p, &get), Route::Unknown);
        assert_eq!(parse("/gradio_api/a/b/c/d/e/f", p, &get), Route::Unknown);
        assert_eq!(parse("/info", "", &get), Route::Info);
        for path in [
            "/gradio_api/mcp",
            "/gradio_api/mcp/",
            "/gradio_api/mcp/http/",
        ] {
            assert_eq!(
                parse(path, p, &get),
                Route::Mcp(McpRoute::Transport),
                "{path}"
            );
        }
        assert_eq!(
            parse("/gradio_api/mcp/schema", p, &get),
            Route::Mcp(McpRoute::Schema)
        );
        assert_eq!(
            parse("/gradio_api/mcp/sse", p, &get),
            Route::Mcp(McpRoute::Other)
        );
        assert_eq!(parse("/gradio_api/mcpx", p, &get), Route::Unknown);
    }

    #[test]
    fn methods_and_names() {
        let p = "/gradio_api";
        let poll = parse("/gradio_api/call/add/abc", p, &Method::GET);
        assert!(poll.reads());
        assert_eq!(poll.shown(p), "/gradio_api/call/add/{event_id}");
        let call = parse("/gradio_api/call/add", p, &Method::GET);
        assert!(!call.reads());
        assert_eq!(call.shown(p), "/gradio_api/call/add");
        assert!(!Route::Cancel("reset").reads());
        assert_eq!(Route::Cancel("reset").shown(p), "/gradio_api/reset");
        assert!(Route::Config.reads());
        assert_eq!(Route::Config.shown(p), "/config");
    }
}
