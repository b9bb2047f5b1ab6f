//! The MCP tool list, built once from the registry: one tool per endpoint that `/info` lists,
//! with Gradio's naming rule and input schemas in which every `FileData` became a URL string.
//! It also renders `GET {prefix}/mcp/schema`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::documents::info::EndpointDoc;
use crate::files::data::is_file_schema;
use crate::registry::Visibility;
use crate::schema::{mentions_file, Defs};

/// What a file input looks like to an MCP client, as Gradio words it.
pub(crate) const FILE_INPUT_FORMAT: &str = "Gradio File Input - a http or https url to a file";

/// Tool names are cut to this many characters, as Gradio does.
const MAX_NAME: usize = 120;

/// One tool.
pub(crate) struct ToolEntry {
    /// The endpoint it calls.
    pub(crate) endpoint: Arc<str>,
    /// Whether any input may hold a file (then string URLs are fetched into uploads).
    pub(crate) takes_files: bool,
    /// The tool as `tools/list` lists it.
    pub(crate) tool: rmcp::model::Tool,
    /// The entry of `GET {prefix}/mcp/schema`.
    pub(crate) schema_entry: Value,
}

/// All tools, in registry order, and their names.
pub(crate) struct Catalog {
    pub(crate) tools: Vec<ToolEntry>,
    by_name: HashMap<String, usize>,
    /// `GET {prefix}/mcp/schema` without a filter, rendered once.
    all: Bytes,
}

impl Catalog {
    /// The tools of the endpoints `/info` lists.
    pub(crate) fn build(endpoints: &[EndpointDoc<'_>]) -> Catalog {
        let mut tools = Vec::new();
        let mut by_name = HashMap::new();
        for doc in endpoints
            .iter()
            .filter(|d| d.visibility == Visibility::Public)
        {
            let name = unique_name(&doc.sig.name, &by_name);
            let sig = doc.sig;
            let takes_files = sig
                .params
                .iter()
                .any(|p| mentions_file(&p.spec.schema, &sig.defs));
            let input_schema = input_schema(doc);
            let description = if doc.description.is_empty() {
                format!("Calls the /{} endpoint.", sig.name)
            } else {
                doc.description.to_owned()
            };
            let meta = json!({
                "file_data_present": takes_files,
                "mcp_type": "tool",
                "endpoint_name": format!("/{}", sig.name),
            });
            let schema_entry = json!({
                "name": name,
                "description": description,
                "inputSchema": input_schema,
                "meta": meta,
            });
            let tool_json = json!({
                "name": name,
                "description": description,
                "inputSchema": input_schema,
                "_meta": meta,
            });
            // The shape is rmcp's own `Tool`; it cannot fail for these fields.
            let Ok(tool) = serde_json::from_value(tool_json) else {
                continue;
            };
            by_name.insert(name, tools.len());
            tools.push(ToolEntry {
                endpoint: sig.name.clone(),
                takes_files,
                tool,
                schema_entry,
            });
        }
        let entries: Vec<&Value> = tools.iter().map(|t| &t.schema_entry).collect();
        let all = Bytes::from(serde_json::to_vec(&entries).unwrap_or_else(|_| b"[]".to_vec()));
        Catalog {
            tools,
            by_name,
            all,
        }
    }

    /// The tool called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.by_name.get(name).map(|&i| &self.tools[i])
    }

    /// The names of all tools, for error messages.
    pub(crate) fn names(&self) -> String {
        let names: Vec<&str> = self.tools.iter().map(|t| &*t.tool.name).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// `GET {prefix}/mcp/schema`: every tool, or those named in `?tools=a,b`.
    pub(crate) fn schema_document(&self, query: Option<&str>) -> Bytes {
        let wanted: Option<Vec<String>> = query.and_then(|q| {
            q.split('&').find_map(|pair| {
                let value = pair.strip_prefix("tools=")?;
                let decoded = percent_encoding::percent_decode_str(&value.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                Some::<Vec<String>>(
                    decoded
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            })
        });
        let Some(wanted) = wanted else {
            return self.all.clone();
        };
        let list: Vec<&Value> = self
            .tools
            .iter()
            .filter(|t| wanted.iter().any(|n| *n == *t.tool.name))
            .map(|t| &t.schema_entry)
            .collect();
        Bytes::from(serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec()))
    }
}

/// Gradio's rule: every character outside `[A-Za-z0-9]` becomes `_`, the name is cut to 120
/// characters, and a name already taken gets `_1`, `_2`, ...
fn unique_name(endpoint: &str, taken: &HashMap<String, usize>) -> String {
    let base: String = endpoint
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(MAX_NAME)
        .collect();
    if !taken.contains_key(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}_{n}"))
        .find(|candidate| !taken.contains_key(candidate))
        .unwrap_or(base)
}

/// `{"type": "object", "properties": {...}, "required": [...]}`, with each parameter's
/// schema, description and default, and the endpoint's definitions under `$defs`.
fn input_schema(doc: &EndpointDoc<'_>) -> Value {
    let sig = doc.sig;
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in &sig.params {
        let spec = &p.spec;
        let mut schema = match files_as_urls(&spec.schema) {
            Value::Object(map) => map,
            // `true` (anything): an empty object means the same and takes the fields.
            _ => Map::new(),
        };
        if let Some(d) = &spec.description {
            schema.insert("description".into(), Value::from(d.as_str()));
        }
        if let Some(default) = &spec.default {
            schema.insert("default".into(), default.clone());
        }
        if spec.default.is_none() {
            required.push(Value::from(&*p.name));
        }
        properties.insert(p.name.to_string(), Value::Object(schema));
    }
    let mut schema = Map::new();
    schema.insert("type".into(), Value::from("object"));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    if !sig.defs.is_empty() {
        schema.insert("$defs".into(), Value::Object(defs_as_urls(&sig.defs)));
    }
    Value::Object(schema)
}

/// The string schema a file input becomes.
fn file_input() -> Value {
    json!({"type": "string", "format": FILE_INPUT_FORMAT})
}

/// `schema` with every inline `FileData` replaced by [`file_input`] (references to a `FileData`
/// definition stay: the definition itself is replaced in [`defs_as_urls`]).
fn files_as_urls(schema: &Value) -> Value {
    fn walk(value: &Value, depth: usize) -> Value {
        if depth > 64 {
            return value.clone();
        }
        if is_file_schema(value) {
            return file_input();
        }
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, depth + 1)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, depth + 1)).collect()),
            other => other.clone(),
        }
    }
    walk(schema, 0)
}

fn defs_as_urls(defs: &Defs) -> Map<String, Value> {
    defs.iter()
        .map(|(name, schema)| (name.clone(), files_as_urls(schema)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_gradios_rule() {
        let mut taken = HashMap::new();
        assert_eq!(unique_name("log-metrics.v2", &taken), "log_metrics_v2");
        taken.insert("log_metrics_v2".to_owned(), 0);
        assert_eq!(unique_name("log metrics/v2", &taken), "log_metrics_v2_1");
        taken.insert("log_metrics_v2_1".to_owned(), 1);
        assert_eq!(unique_name("log.metrics.v2", &taken), "log_metrics_v2_2");
        let long = "é".repeat(200);
        assert_eq!(
            unique_name(&long, &HashMap::new()).chars().count(),
            MAX_NAME
        );
    }

    #[test]
    fn file_schemas_become_url_strings() {
        let file = crate::FileData::json_schema_value();
        let schema = json!({"type": "array", "items": file});
        assert_eq!(
            files_as_urls(&schema),
            json!({"type": "array", "items": {"type": "string", "format": FILE_INPUT_FORMAT}})
        );
    }
}
