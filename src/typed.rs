//! Typed registration: an argument struct, an output type and an async handler.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::context::CallContext;
use crate::error::{ArgProblem, BuildError};
use crate::fanout::Follow;
use crate::registry::{
    default_output_label, encode_outputs, is_unit_schema, Binder, BoundCall, DirectBinder,
    Endpoint, ParamSpec, Run,
};
use crate::schema::Defs;

/// The argument type of an endpoint that takes no parameters.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct NoArgs {}

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true)
}

/// Splits a root schema into its `$defs` and the rest.
fn take_defs(schema: &mut Map<String, Value>) -> Defs {
    match schema.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Defs::new(),
    }
}

impl Endpoint {
    /// A typed endpoint.
    ///
    /// - `A`, the arguments: a struct deriving `Deserialize` and `JsonSchema`. Its fields are
    ///   the parameters, in declaration order; `Option` fields and fields with
    ///   `#[serde(default)]` are optional. Its doc comment becomes the endpoint's
    ///   description, and each field's doc comment that parameter's description.
    /// - `O`, the output: `Serialize + JsonSchema`. `()` means no result: the endpoint
    ///   still has one return in `/info` (component `Api`) and its result is `[null]`, as
    ///   in Gradio and Trackio.
    /// - The handler: an async function of `(A, CallContext)` returning `Result<O, E>` where
    ///   `E: Display`; an `Err` reaches the caller as an `error` event with that message.
    ///
    /// ```
    /// use gradio_compat::{CallContext, Endpoint};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// /// Add two numbers.
    /// #[derive(Deserialize, JsonSchema)]
    /// struct AddArgs {
    ///     /// The first addend.
    ///     a: f64,
    ///     /// The second addend.
    ///     b: f64,
    /// }
    ///
    /// async fn add(args: AddArgs, _ctx: CallContext) -> Result<f64, String> {
    ///     Ok(args.a + args.b)
    /// }
    ///
    /// let endpoint = Endpoint::typed("add", add).output_label("sum");
    /// assert_eq!(endpoint.name(), "add");
    /// ```
    pub fn typed<A, O, E, F, Fut>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        E: Display + 'static,
        F: Fn(A, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        let name = name.into();
        let parts = TypedParts::of::<A, O>(&name);
        let handler = Arc::new(handler);
        let call = move |decoded: A| -> BoundCall {
            let handler = handler.clone();
            Box::new(move |ctx| {
                let fut = handler(decoded, ctx);
                Run::Once(Box::pin(async move {
                    let out = fut.await.map_err(|e| e.to_string())?;
                    encode_outputs(&out)
                }))
            })
        };
        parts.into_endpoint(name, binders(call), false)
    }

    /// A streaming typed endpoint: the handler returns a [`Stream`](futures_util::Stream) of
    /// `Result<O, E>`, a generator in Gradio's terms.
    ///
    /// On the `/call` route each item becomes `event: generating` with the full value, then
    /// `event: complete` repeats the last one (`[null]` when the stream yielded nothing). On
    /// the queue, the first `process_generating` carries the full value, later ones a diff, and
    /// `process_completed` the full last value. An `Err` item ends the call with that error. A
    /// cancel stops the stream between items: it is dropped, so its producer stops.
    ///
    /// ```
    /// use gradio_compat::{CallContext, Endpoint};
    /// use futures_util::stream;
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// /// Count up to `n`.
    /// #[derive(Deserialize, JsonSchema)]
    /// struct CountArgs {
    ///     n: u32,
    /// }
    ///
    /// let count = Endpoint::typed_stream("count", |args: CountArgs, _ctx: CallContext| {
    ///     stream::iter((1..=args.n).map(Ok::<u32, String>))
    /// });
    /// assert_eq!(count.name(), "count");
    /// ```
    pub fn typed_stream<A, O, E, F, S>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + Send + 'static,
        E: Display + 'static,
        F: Fn(A, CallContext) -> S + Send + Sync + 'static,
        S: futures_util::Stream<Item = Result<O, E>> + Send + 'static,
    {
        use futures_util::StreamExt;
        let name = name.into();
        let parts = TypedParts::of::<A, O>(&name);
        let handler = Arc::new(handler);
        let call = move |decoded: A| -> BoundCall {
            let handler = handler.clone();
            Box::new(move |ctx| {
                let items = handler(decoded, ctx).map(move |item| match item {
                    Ok(out) => encode_outputs(&out),
                    Err(e) => Err(e.to_string()),
                });
                Run::Stream(Box::pin(items))
            })
        };
        parts.into_endpoint(name, binders(call), true)
    }

    /// An endpoint whose calls follow a live source shared by all of them: the handler picks
    /// the [`Fanout`](crate::Fanout) for the call's arguments, optionally with per-call limits
    /// ([`Follow`]), or refuses with an error; the call streams
    /// the values published to it from then on as partial results (`generating`), completing
    /// with the last one when the fan-out finishes. In `/info` it is a generator, like
    /// [`typed_stream`](Self::typed_stream).
    ///
    /// On a backend of this process alone (the default), a `/call` poll of it costs a cursor
    /// into the fan-out's buffer: no job, task or queue per follower, each value encoded once
    /// for all. On a shared backend, and through the queue and MCP, each call runs as a
    /// streaming job that reads the fan-out. Such calls cannot be cancelled once their poll is
    /// open (closing the stream ends them).
    ///
    /// ```
    /// use gradio_compat::{CallContext, Endpoint, Fanout, NoArgs};
    ///
    /// let temperature: Fanout<f64> = Fanout::new();
    /// let endpoint = Endpoint::follow("temperature", move |_: NoArgs, _: CallContext| {
    ///     Ok::<_, String>(temperature.clone())
    /// });
    /// assert_eq!(endpoint.name(), "temperature");
    /// ```
    pub fn follow<A, O, E, F, R>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        E: Display + 'static,
        R: Into<Follow<O>>,
        F: Fn(A, CallContext) -> Result<R, E> + Send + Sync + 'static,
    {
        let name = name.into();
        let parts = TypedParts::of::<A, O>(&name);
        let handler = Arc::new(handler);
        let call = move |decoded: A| -> BoundCall {
            let handler = handler.clone();
            Box::new(move |ctx| match handler(decoded, ctx) {
                Ok(follow) => Run::Follow(follow.into().follower()),
                Err(e) => {
                    let message = e.to_string();
                    Run::Once(Box::pin(async move { Err(message) }))
                }
            })
        };
        let mut endpoint = parts.into_endpoint(name, binders(call), true);
        endpoint.follow = true;
        endpoint
    }
}

/// The two ways from a call's `data` to the handler: checked values decoded into `A`, and a
/// positional array decoded straight from its text.
fn binders<A: DeserializeOwned + 'static>(
    call: impl Fn(A) -> BoundCall + Send + Sync + 'static,
) -> (Binder, DirectBinder) {
    let call = Arc::new(call);
    let checked = call.clone();
    let binder: Binder = Arc::new(move |args| decode(args).map(|a| checked(a)));
    let direct: DirectBinder = Arc::new(move |args| A::deserialize(args).map(|a| call(a)));
    (binder, direct)
}

/// Decodes checked arguments into the argument struct.
fn decode<A: DeserializeOwned>(args: Vec<(Arc<str>, Option<Value>)>) -> Result<A, ArgProblem> {
    let map: Map<String, Value> = args
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
        .collect();
    let value = Value::Object(map);
    // The values were checked against the schema, so decoding rarely fails: the plain decoder
    // runs first, and the path-tracking one (slower) only to name what did not fit.
    A::deserialize(&value)
        .or_else(|_| serde_path_to_error::deserialize(&value).map_err(|e| decode_problem(&e)))
}

/// What the schemas of a typed endpoint's argument and output types say.
struct TypedParts {
    description: String,
    params: Vec<ParamSpec>,
    defs: Defs,
    output: Value,
    error: Option<BuildError>,
}

impl TypedParts {
    fn of<A: JsonSchema, O: JsonSchema>(name: &str) -> Self {
        let args_schema = settings()
            .for_deserialize()
            .into_generator()
            .into_root_schema_for::<A>()
            .to_value();
        let output_schema = settings()
            .for_serialize()
            .into_generator()
            .into_root_schema_for::<O>()
            .to_value();

        let mut error = None;
        let mut description = String::new();
        let mut params = Vec::new();
        let mut defs = Defs::new();
        match args_schema {
            Value::Object(mut root)
                if root.get("type").and_then(Value::as_str) == Some("object") =>
            {
                defs = take_defs(&mut root);
                description = root
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let required: Vec<&str> = root
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(Value::Object(props)) = root.get("properties") {
                    for (field, schema) in props {
                        let mut schema = schema.clone();
                        crate::schema::add_integer_bounds(&mut schema);
                        let mut spec = ParamSpec::new(field.clone(), schema.clone());
                        if !required.contains(&field.as_str()) {
                            spec.default =
                                Some(schema.get("default").cloned().unwrap_or(Value::Null));
                            spec.omit_when_missing = schema.get("default").is_none();
                        }
                        params.push(spec);
                    }
                }
            }
            other => {
                let found = match other.get("type") {
                    Some(t) => format!("a schema of type {t}"),
                    None => format!("the schema {other}"),
                };
                error = Some(BuildError::ArgsNotObject {
                    endpoint: name.to_owned(),
                    found,
                });
            }
        }

        let (output, output_defs) = match output_schema {
            Value::Object(mut root) => {
                let output_defs = take_defs(&mut root);
                root.remove("$schema");
                // The root title is the Rust type's name ("double", "Artifact"); Gradio's own
                // titles, FileData's, carry meaning and stay.
                if !crate::files::data::is_file_schema(&Value::Object(root.clone())) {
                    root.remove("title");
                }
                (Value::Object(root), output_defs)
            }
            other => (other, Defs::new()),
        };
        for (k, v) in output_defs {
            defs.entry(k).or_insert(v);
        }
        defs.values_mut()
            .for_each(crate::schema::add_integer_bounds);
        Self {
            description,
            params,
            defs,
            output,
            error,
        }
    }

    fn into_endpoint(
        self,
        name: String,
        (binder, direct): (Binder, DirectBinder),
        streaming: bool,
    ) -> Endpoint {
        Endpoint {
            name,
            description: self.description,
            params: self.params,
            defs: self.defs,
            output_label: default_output_label(is_unit_schema(&self.output)).to_owned(),
            output: self.output,
            binder,
            direct: Some(direct),
            error: self.error,
            visibility: crate::registry::Visibility::Public,
            streaming,
            follow: false,
            concurrency_limit: None,
            max_waiting: None,
        }
    }
}

/// Turns a decoding error into a problem that names the parameter.
fn decode_problem(e: &serde_path_to_error::Error<serde_json::Error>) -> ArgProblem {
    let path = e.path().to_string();
    let (parameter, rest) = match path.split_once(['.', '[']) {
        Some((head, _)) => (head.to_owned(), path.as_str()),
        None => (path.clone(), path.as_str()),
    };
    let parameter = if parameter == "." || parameter.is_empty() {
        "data".to_owned()
    } else {
        parameter
    };
    let at = if rest != parameter {
        format!(" at {rest}")
    } else {
        String::new()
    };
    ArgProblem {
        msg: format!("parameter {parameter:?}{at}: {}", e.inner()),
        parameter,
        index: None,
    }
}
