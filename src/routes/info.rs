//! `GET {prefix}/info`: endpoint signatures, computed once at build.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::args::Signature;
use crate::body::{json_response, ResponseBody, NO_STORE};
use crate::schema;

/// The descriptor of one parameter, as the three official clients read it.
fn parameter(sig: &Signature, index: usize) -> Value {
    let p = &sig.params[index].spec;
    let defs = &sig.defs;
    let description = p
        .description
        .clone()
        .unwrap_or_else(|| schema::description(&p.schema, defs));
    json!({
        "label": p.label.as_deref().unwrap_or(&p.name),
        "parameter_name": p.name,
        "parameter_has_default": p.default.is_some(),
        "parameter_default": p.default.clone().unwrap_or(Value::Null),
        "type": schema::info_type(&p.schema, defs),
        "python_type": {
            "type": schema::python_type(&p.schema, defs),
            "description": description,
        },
        "component": schema::component(&p.schema, defs),
        "example_input": match &p.default {
            Some(d) if !d.is_null() => d.clone(),
            _ => schema::example(&p.schema, defs),
        },
    })
}

fn output(schema_value: &Value, label: &str, sig: &Signature) -> Value {
    let defs = &sig.defs;
    json!({
        "label": label,
        "type": schema::info_type(schema_value, defs),
        "python_type": {
            "type": schema::python_type(schema_value, defs),
            "description": schema::description(schema_value, defs),
        },
        "component": schema::component(schema_value, defs),
    })
}

/// One endpoint's entry in `named_endpoints`.
pub(crate) fn endpoint_info(
    sig: &Signature,
    description: &str,
    output_schema: Option<&Value>,
    output_label: &str,
) -> Value {
    let parameters: Vec<Value> = (0..sig.params.len()).map(|i| parameter(sig, i)).collect();
    let returns: Vec<Value> = output_schema
        .map(|s| vec![output(s, output_label, sig)])
        .unwrap_or_default();
    json!({
        "parameters": parameters,
        "returns": returns,
        "api_visibility": "public",
        "description": description,
    })
}

/// The whole `/info` document, serialised once.
pub(crate) fn document(named: Map<String, Value>) -> Bytes {
    let doc = json!({
        "named_endpoints": named,
        "unnamed_endpoints": {},
    });
    Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
}

pub(crate) fn respond(info: &Bytes) -> Response<ResponseBody> {
    let mut response = json_response(StatusCode::OK, info.clone());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, NO_STORE);
    response
}
