//! The registry: the endpoints a server offers, registered typed or raw.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::context::CallContext;
use crate::error::{ArgProblem, BuildError};
use crate::positional::PositionalArgs;
use crate::schema::Defs;

pub(crate) use crate::output::encode_outputs;

/// The future a bound call runs: the encoded output list, or an error message.
pub(crate) type CallFuture = Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>>;

/// The items a streaming call yields: each an encoded output list, or an error message.
pub(crate) type ItemStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, String>> + Send>>;

/// What running a call gives: one result, or a stream of them.
pub(crate) enum Run {
    Once(CallFuture),
    Stream(ItemStream),
    /// A follower of a shared source (a [`Fanout`](crate::Fanout)).
    Follow(crate::fanout::Follower),
}

/// A call whose arguments were decoded, ready to run in its own task.
pub(crate) type BoundCall = Box<dyn FnOnce(CallContext) -> Run + Send>;

/// Decodes checked arguments (in parameter order; `None` = absent, left to the type's own
/// default) into a runnable call.
pub(crate) type Binder =
    Arc<dyn Fn(Vec<(Arc<str>, Option<Value>)>) -> Result<BoundCall, ArgProblem> + Send + Sync>;

/// Decodes a positional `data` array straight from its JSON text into a runnable call (typed
/// endpoints). An error only means "take the checked way", which names the problem.
pub(crate) type DirectBinder =
    Arc<dyn Fn(PositionalArgs<'_>) -> Result<BoundCall, serde_json::Error> + Send + Sync>;

/// One parameter of a raw endpoint: its name, JSON Schema, and default.
#[derive(Clone, Debug)]
#[must_use]
pub struct ParamSpec {
    pub(crate) name: String,
    pub(crate) schema: Value,
    pub(crate) default: Option<Value>,
    /// Absent values are left out instead of filled with `default` (typed endpoints, whose
    /// own `Default`s apply).
    pub(crate) omit_when_missing: bool,
    pub(crate) label: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) example: Option<Value>,
}

impl ParamSpec {
    /// A required parameter with this JSON Schema.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            schema,
            default: None,
            omit_when_missing: false,
            label: None,
            description: None,
            example: None,
        }
    }

    /// An example value, shown as `example_input` in `/info` and used in the code snippets.
    /// Defaults to the schema's `examples`, the default, or a value made from the schema.
    pub fn example(mut self, value: Value) -> Self {
        self.example = Some(value);
        self
    }

    /// Makes the parameter optional: a caller who leaves it out gets `value`.
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// The description shown in `/info` (`python_type.description`). Defaults to the
    /// schema's own `description`.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The label shown in `/info`. Defaults to the name.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = Some(text.into());
        self
    }
}

/// Who may see and call an endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Visibility {
    /// Listed in `/info` and `/config`, callable. The default.
    #[default]
    Public,
    /// Callable, in `/config`, but listed in `/info` only with `?all_endpoints=true`.
    Undocumented,
    /// Neither listed nor callable over any Gradio route: as if it did not exist.
    Private,
}

impl Visibility {
    /// The `api_visibility` string Gradio uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Undocumented => "undocumented",
            Visibility::Private => "private",
        }
    }
}

/// One endpoint: a name, its parameters and result, and the handler.
///
/// Make one with [`Endpoint::typed`] or [`Endpoint::raw`], adjust it with the setters, and
/// add it to a [`Registry`].
#[must_use = "an endpoint does nothing until it is added to a registry"]
pub struct Endpoint {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) params: Vec<ParamSpec>,
    pub(crate) defs: Defs,
    /// The return schema; `{"type": "null"}` for a function without a result, which still
    /// has one return (`[null]`), as in Gradio and Trackio.
    pub(crate) output: Value,
    pub(crate) output_label: String,
    pub(crate) binder: Binder,
    /// The direct way in, for typed endpoints.
    pub(crate) direct: Option<DirectBinder>,
    pub(crate) error: Option<BuildError>,
    pub(crate) visibility: Visibility,
    pub(crate) streaming: bool,
    /// Its calls follow a [`Fanout`](crate::Fanout).
    pub(crate) follow: bool,
    pub(crate) concurrency_limit: Option<usize>,
    pub(crate) max_waiting: Option<usize>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("params", &self.params)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

/// Is this return schema "no output" (`()` or `{"type": "null"}`)?
pub(crate) fn is_unit_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const") == Some(&Value::Null)
}

/// The label of an endpoint's return unless set: `result` for a function without a result
/// (Trackio's), `output` otherwise.
pub(crate) fn default_output_label(unit: bool) -> &'static str {
    if unit {
        "result"
    } else {
        "output"
    }
}

/// The handler of a raw endpoint, erased.
type RawHandler = dyn Fn(
        Map<String, Value>,
        CallContext,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>
    + Send
    + Sync;

impl Endpoint {
    /// A raw endpoint: parameters and result described by JSON Schemas, and a handler over
    /// JSON values.
    ///
    /// The handler gets the arguments keyed by parameter name, in parameter order, with
    /// defaults filled in (null for optional parameters without a default); they have been
    /// checked against the schemas. A return schema of `{"type": "null"}` means the endpoint
    /// has no result: it still has one return in `/info` (component `Api`, as Gradio's
    /// `gr.api` and Trackio list it), and its result is always `[null]`.
    ///
    /// ```
    /// use gradio_compat::{Endpoint, ParamSpec};
    /// use serde_json::json;
    ///
    /// let upper = Endpoint::raw(
    ///     "upper",
    ///     vec![ParamSpec::new("text", json!({"type": "string"}))],
    ///     json!({"type": "string"}),
    ///     |args, _ctx| async move {
    ///         let text = args["text"].as_str().unwrap_or_default();
    ///         Ok::<_, String>(json!(text.to_uppercase()))
    ///     },
    /// )
    /// .description("Upper-cases a string.");
    /// ```
    pub fn raw<F, Fut, E>(
        name: impl Into<String>,
        params: Vec<ParamSpec>,
        returns: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, E>> + Send + 'static,
        E: Display + 'static,
    {
        let unit = is_unit_schema(&returns);
        let handler: Arc<RawHandler> = Arc::new(move |args, ctx| {
            let fut = handler(args, ctx);
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        let binder: Binder = Arc::new(move |args| {
            let map: Map<String, Value> = args
                .into_iter()
                .map(|(name, value)| (name.to_string(), value.unwrap_or(Value::Null)))
                .collect();
            let handler = handler.clone();
            Ok(Box::new(move |ctx| {
                Run::Once(Box::pin(async move {
                    let value = handler(map, ctx).await?;
                    encode_outputs(if unit { &Value::Null } else { &value })
                }))
            }) as BoundCall)
        });
        let description = String::new();
        Self {
            name: name.into(),
            description,
            params,
            defs: Defs::new(),
            output: returns,
            output_label: default_output_label(unit).to_owned(),
            binder,
            direct: None,
            error: None,
            visibility: Visibility::Public,
            streaming: false,
            follow: false,
            concurrency_limit: None,
            max_waiting: None,
        }
    }

    /// Sets the description shown in `/info` (typed endpoints default to the argument
    /// struct's doc comment).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Sets who may see and call the endpoint. Default [`Visibility::Public`].
    pub fn visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// Lets at most `n` calls of this endpoint run at once; the others wait in line, and
    /// queue callers see their place (`estimation` messages). Default: no limit, because most
    /// handlers are async and cheap to run side by side, and a limit that a server does not
    /// need only adds waiting. Set one for handlers that serialise on a resource (a write
    /// lock, a GPU) or that are expensive.
    pub fn concurrency_limit(mut self, n: usize) -> Self {
        self.concurrency_limit = Some(n.max(1));
        self
    }

    /// Refuses new calls with 503 while `n` calls already wait for a concurrency slot, as
    /// Gradio's `max_size` does. Only meaningful with a [`concurrency_limit`](Self::concurrency_limit).
    /// Default: no limit besides the service's `max_unfinished`.
    pub fn max_waiting(mut self, n: usize) -> Self {
        self.max_waiting = Some(n);
        self
    }

    /// Sets the label of the output in `/info`. Default `"output"`.
    pub fn output_label(mut self, label: impl Into<String>) -> Self {
        self.output_label = label.into();
        self
    }

    /// Adds `$defs` that the raw parameter and return schemas refer to with `$ref`.
    pub fn definitions(mut self, defs: Map<String, Value>) -> Self {
        self.defs.extend(defs);
        self
    }

    /// The endpoint's name, without the leading slash.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The endpoints a service offers. Immutable once given to
/// [`GradioCompat::builder`](crate::GradioCompat::builder).
///
/// ```
/// use gradio_compat::{NoArgs, Registry};
///
/// async fn version(_: NoArgs, _ctx: gradio_compat::CallContext) -> Result<String, String> {
///     Ok(env!("CARGO_PKG_VERSION").to_owned())
/// }
///
/// let registry = Registry::new().typed("version", version);
/// assert_eq!(registry.len(), 1);
/// ```
#[derive(Debug, Default)]
#[must_use = "a registry does nothing until it is built into a service"]
pub struct Registry {
    pub(crate) endpoints: Vec<Endpoint>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an endpoint.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// Adds a typed endpoint: see [`Endpoint::typed`].
    pub fn typed<A, O, E, F, Fut>(self, name: impl Into<String>, handler: F) -> Self
    where
        A: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
        O: serde::Serialize + schemars::JsonSchema + 'static,
        E: Display + 'static,
        F: Fn(A, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        self.endpoint(Endpoint::typed(name, handler))
    }

    /// Adds a streaming typed endpoint: see [`Endpoint::typed_stream`].
    pub fn typed_stream<A, O, E, F, S>(self, name: impl Into<String>, handler: F) -> Self
    where
        A: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
        O: serde::Serialize + schemars::JsonSchema + Send + 'static,
        E: Display + 'static,
        F: Fn(A, CallContext) -> S + Send + Sync + 'static,
        S: futures_util::Stream<Item = Result<O, E>> + Send + 'static,
    {
        self.endpoint(Endpoint::typed_stream(name, handler))
    }

    /// Adds an endpoint whose calls follow a shared live source: see [`Endpoint::follow`].
    pub fn follow<A, O, E, F, R>(self, name: impl Into<String>, handler: F) -> Self
    where
        A: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
        O: serde::Serialize + schemars::JsonSchema + 'static,
        E: Display + 'static,
        R: Into<crate::Follow<O>>,
        F: Fn(A, CallContext) -> Result<R, E> + Send + Sync + 'static,
    {
        self.endpoint(Endpoint::follow(name, handler))
    }

    /// Adds a raw endpoint: see [`Endpoint::raw`].
    pub fn raw<F, Fut, E>(
        self,
        name: impl Into<String>,
        params: Vec<ParamSpec>,
        returns: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, E>> + Send + 'static,
        E: Display + 'static,
    {
        self.endpoint(Endpoint::raw(name, params, returns, handler))
    }

    /// How many endpoints are registered.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether no endpoint is registered.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
}
