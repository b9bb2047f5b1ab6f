//! The OpenAPI 3.1 document of `GET {prefix}/openapi.json`, built once at build time: the
//! upload route and, for every public endpoint, `POST {p}/call/v2/{api}` (named parameters,
//! with the JSON Schemas of the registry) and `GET {p}/call/{api}/{event_id}` (the SSE poll),
//! with the error responses and, where an endpoint takes a token, the bearer scheme.

use serde_json::{json, Map, Value};

use crate::documents::info::{param_example, EndpointDoc};
use crate::documents::template::{Template, ROOT};
use crate::registry::Visibility;

/// A `$ref` to the shared error body.
fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

/// Rewrites `#/$defs/X` references to the endpoint's copies under `components/schemas`.
fn relink(value: &mut Value, api: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                if let Some(name) = target.strip_prefix("#/$defs/") {
                    *target = format!("#/components/schemas/{}", component_name(api, name));
                }
            }
            for v in map.values_mut() {
                relink(v, api);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| relink(v, api)),
        _ => {}
    }
}

/// A component name for definition `name` of endpoint `api`, within `[A-Za-z0-9._-]`.
fn component_name(api: &str, name: &str) -> String {
    format!("{api}.{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The operations of one endpoint, adding its definitions to `schemas`. `hooked`: the service
/// has an authorize hook, which may refuse any call with 401 or 403.
fn operations(
    doc: &EndpointDoc<'_>,
    prefix: &str,
    schemas: &mut Map<String, Value>,
    hooked: bool,
) -> [(String, Value); 2] {
    let sig = doc.sig;
    let api = &*sig.name;
    for (name, schema) in &sig.defs {
        let mut schema = schema.clone();
        relink(&mut schema, api);
        schemas.insert(component_name(api, name), schema);
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut example = Map::new();
    for (i, p) in sig.params.iter().enumerate() {
        let spec = &p.spec;
        let mut schema = spec.schema.clone();
        relink(&mut schema, api);
        if spec.default.is_some() {
            // `null` for a parameter with a default means the default.
            schema = json!({"anyOf": [schema, {"type": "null"}]});
        }
        if let Value::Object(map) = &mut schema {
            if let Some(d) = &spec.description {
                map.insert("description".into(), Value::from(d.as_str()));
            }
            if let Some(default) = &spec.default {
                map.insert("default".into(), default.clone());
            }
        }
        if Some(i) == sig.token_index {
            if let Value::Object(map) = &mut schema {
                map.entry("description").or_insert_with(|| {
                    Value::from("A token; left blank, the bearer token of the request is used")
                });
            }
        } else {
            example.insert(spec.name.clone(), param_example(sig, i));
        }
        if spec.default.is_none() {
            required.push(Value::from(spec.name.as_str()));
        }
        properties.insert(spec.name.clone(), schema);
    }
    let mut output = doc.output.clone();
    relink(&mut output, api);
    let secured = hooked || sig.token_index.is_some();
    let mut call = json!({
        "operationId": format!("call_{}", component_name(api, "").trim_end_matches('.')),
        "summary": format!("Start a call of /{api}"),
        "description": format!(
            "{}\n\nStarts the call and answers its event id at once; read the result with GET \
             {prefix}/call/{api}/{{event_id}}.",
            doc.description
        ),
        "tags": [api],
        "requestBody": {
            "required": true,
            "content": {"application/json": {
                "schema": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                },
                "example": example,
            }},
        },
        "responses": {
            "200": {
                "description": "The call started",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventId"}}},
            },
            "404": error_response("No such endpoint"),
            "413": error_response("The body is over the size limit"),
            "422": error_response("The arguments do not fit the parameters (the error names which)"),
            "503": error_response("Too many unfinished calls, the endpoint's line is full, or the server is shutting down; retry after Retry-After"),
        },
    });
    if secured {
        call["security"] = json!([{"bearer": []}, {}]);
        let responses = &mut call["responses"];
        responses["401"] = error_response("A token is needed");
        responses["403"] = error_response("The token may not do this");
    }
    let poll = json!({
        "operationId": format!("poll_{}", component_name(api, "").trim_end_matches('.')),
        "summary": format!("Read the result of a call of /{api}"),
        "description": format!(
            "A text/event-stream: `event: heartbeat` frames while the call runs, \
             `event: generating` frames with partial results of a stream, then one \
             `event: complete` whose data is the JSON array of outputs ([the result]), or one \
             `event: error` whose data is {{\"error\": message}}. A result is delivered once. \
             The result's schema: {}",
            serde_json::to_string(&output).unwrap_or_default()
        ),
        "tags": [api],
        "parameters": [{
            "name": "event_id",
            "in": "path",
            "required": true,
            "description": "The event id that starting the call answered",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        }],
        "responses": {
            "200": {
                "description": "The call's events",
                "content": {"text/event-stream": {"schema": {
                    "description": "One server-sent event",
                    "type": "object",
                    "properties": {
                        "event": {"enum": ["heartbeat", "generating", "complete", "error"]},
                        "data": {"type": "string", "description": "JSON: null for a heartbeat, the output array, or {\"error\": message}"},
                    },
                    "required": ["event", "data"],
                }}},
            },
            "404": error_response("No such event for this endpoint (never started, already delivered, or expired)"),
        },
    });
    [
        (format!("{prefix}/call/v2/{api}"), json!({"post": call})),
        (
            format!("{prefix}/call/{api}/{{event_id}}"),
            json!({"get": poll}),
        ),
    ]
}

/// The document, with the root URL as a placeholder (its server URL).
pub(crate) fn document(
    endpoints: &[EndpointDoc<'_>],
    prefix: &str,
    title: &str,
    hooked: bool,
) -> Template {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "properties": {
                "error": {"type": "string", "description": "What went wrong, and what was expected"},
                "detail": {
                    "type": "array",
                    "description": "For argument errors: one entry per parameter at fault",
                    "items": {"type": "object", "properties": {
                        "parameter": {"type": "string"},
                        "index": {"type": ["integer", "null"]},
                        "msg": {"type": "string"},
                    }},
                },
            },
            "required": ["error"],
        }),
    );
    schemas.insert(
        "EventId".into(),
        json!({
            "type": "object",
            "properties": {"event_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
            "required": ["event_id"],
        }),
    );
    let mut paths = Map::new();
    paths.insert(
        format!("{prefix}/upload"),
        json!({"post": {
            "operationId": "upload",
            "summary": "Upload files",
            "description": "Stores the files and answers their server paths; pass a path to a \
                            file parameter as {\"path\": <path>, \"meta\": {\"_type\": \"gradio.FileData\"}}.",
            "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object",
                "properties": {"files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}},
                "required": ["files"],
            }}}},
            "responses": {
                "200": {"description": "The stored files' server paths, in order", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}},
                "400": error_response("Not a multipart body, or no part named files (other parts are ignored)"),
                "401": error_response("A token is needed"),
                "403": error_response("The token may not upload"),
                "413": error_response("A file or the request is over its limit"),
                "507": error_response("The upload store is full"),
            },
        }}),
    );
    for doc in endpoints
        .iter()
        .filter(|d| d.visibility == Visibility::Public)
    {
        for (path, item) in operations(doc, prefix, &mut schemas, hooked) {
            paths.insert(path, item);
        }
    }
    let document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Gradio HTTP API of this app: start a call, then read its result \
                            as server-sent events. Generated from the app's registry.",
        },
        "servers": [{"url": ROOT}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "Authorization: Bearer <token> (on Hugging Face Spaces, your HF token)",
            }},
        },
    });
    Template::new(serde_json::to_vec(&document).unwrap_or_default())
}
