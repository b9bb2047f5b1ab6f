//! The `/info` documents: endpoint signatures, computed once at build (with the root URL of
//! the code snippets left as a placeholder).

use serde_json::{json, Map, Value};

use crate::args::Signature;
use crate::documents::snippets::{code_snippets, SnippetArg};
use crate::documents::template::Template;
use crate::registry::{is_unit_schema, Visibility};
use crate::schema;

/// The example of a parameter: its own, else from the schema or the default.
pub(crate) fn param_example(sig: &Signature, index: usize) -> Value {
    let p = &sig.params[index].spec;
    if let Some(e) = &p.example {
        return e.clone();
    }
    if let Some(first) = p.schema.get("examples").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match &p.default {
        Some(d) if !d.is_null() => d.clone(),
        _ => schema::example(&p.schema, &sig.defs),
    }
}

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
        "example_input": param_example(sig, index),
    })
}

fn output(schema_value: &Value, label: &str, sig: &Signature) -> Value {
    if is_unit_schema(schema_value) {
        // A function without a result, listed as Gradio's `gr.api` and Trackio list it.
        return json!({
            "label": label,
            "type": {"type": "object"},
            "python_type": {"type": "Any", "description": ""},
            "component": "Api",
        });
    }
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

/// What one endpoint contributes to `/info` and `/config`.
pub(crate) struct EndpointDoc<'a> {
    pub(crate) sig: &'a Signature,
    pub(crate) description: &'a str,
    pub(crate) output: &'a Value,
    pub(crate) output_label: &'a str,
    pub(crate) visibility: Visibility,
    /// A streaming endpoint (a generator, in `/config`'s `types`).
    pub(crate) generator: bool,
}

impl EndpointDoc<'_> {
    /// The entry in `named_endpoints`; with snippets for the plain `/info`.
    fn entry(&self, prefix: Option<&str>) -> Value {
        let sig = self.sig;
        let parameters: Vec<Value> = (0..sig.params.len()).map(|i| parameter(sig, i)).collect();
        let returns = vec![output(self.output, self.output_label, sig)];
        let mut entry = json!({
            "parameters": parameters,
            "returns": returns,
            "api_visibility": self.visibility.as_str(),
            "description": self.description,
        });
        if let Some(prefix) = prefix {
            entry["code_snippets"] = self.snippets(prefix);
        }
        entry
    }

    fn snippets(&self, prefix: &str) -> Value {
        let sig = self.sig;
        let args: Vec<SnippetArg> = sig
            .params
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                // Leave out the token (the header carries it) and optional parameters whose
                // default is null; keep everything required or with a real default.
                Some(*i) != sig.token_index
                    && p.spec
                        .default
                        .as_ref()
                        .is_none_or(|d| !d.is_null() || p.spec.example.is_some())
            })
            .map(|(i, p)| SnippetArg {
                name: p.spec.name.clone(),
                example: param_example(sig, i),
                is_file: schema::component(&p.spec.schema, &sig.defs) == "File",
            })
            .collect();
        code_snippets(prefix, &sig.name, &args, sig.token_index.is_some())
    }
}

/// The two `/info` documents: the plain one (public endpoints, with code snippets) and the
/// one for `?all_endpoints=true` (public and undocumented, without snippets).
pub(crate) fn documents(endpoints: &[EndpointDoc<'_>], prefix: &str) -> (Template, Template) {
    let mut public = Map::new();
    let mut all = Map::new();
    for doc in endpoints {
        let key = format!("/{}", doc.sig.name);
        match doc.visibility {
            Visibility::Public => {
                public.insert(key.clone(), doc.entry(Some(prefix)));
                all.insert(key, doc.entry(None));
            }
            Visibility::Undocumented => {
                all.insert(key, doc.entry(None));
            }
            Visibility::Private => {}
        }
    }
    let render = |named: Map<String, Value>| {
        Template::new(
            serde_json::to_vec(&json!({"named_endpoints": named, "unnamed_endpoints": {}}))
                .unwrap_or_default(),
        )
    };
    (render(public), render(all))
}
