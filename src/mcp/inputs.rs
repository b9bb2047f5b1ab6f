//! File inputs of MCP tool calls. Where an endpoint's schema has a `FileData`, an MCP client
//! sends a string: an `http(s)://` URL or a `data:` base64 URI. Each becomes a stored upload
//! and its `FileData` before the call is bound, so the call then goes through the same checks
//! as any `/call`. A URL of one of this server's own files is used as it is.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::request::Parts;
use serde_json::{json, Map, Value};

use crate::files::data::is_file_schema;
use crate::mcp::fetch::fetch;
use crate::root_url::request_root;
use crate::schema::{resolve, Defs};
use crate::state::{CompiledEndpoint, Inner};

/// Replaces, in `args`, every string given where the endpoint expects a file with the
/// `FileData` of the file it names. The message says which parameter and why, when one fails.
pub(crate) async fn resolve_files(
    inner: &Arc<Inner>,
    endpoint: &CompiledEndpoint,
    parts: &Parts,
    args: &mut Map<String, Value>,
) -> Result<(), String> {
    let sig = &endpoint.sig;
    for p in &sig.params {
        let Some(value) = args.get_mut(&*p.name) else {
            continue;
        };
        let mut slots = Vec::new();
        file_slots(
            &p.spec.schema,
            &sig.defs,
            value,
            String::new(),
            &mut slots,
            0,
        );
        slots.sort();
        slots.dedup();
        for slot in slots {
            let Some(Value::String(text)) = value.pointer(&slot) else {
                continue;
            };
            let file = load(inner, parts, text)
                .await
                .map_err(|e| format!("parameter {:?}: {e}", &*p.name))?;
            if let Some(target) = value.pointer_mut(&slot) {
                *target = file;
            }
        }
    }
    Ok(())
}

/// The JSON pointers (within `value`) of strings that stand where `schema` wants a file.
fn file_slots(
    schema: &Value,
    defs: &Defs,
    value: &Value,
    at: String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let schema = resolve(schema, defs);
    if is_file_schema(schema) {
        if value.is_string() {
            out.push(at);
        }
        return;
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            for branch in branches {
                file_slots(branch, defs, value, at.clone(), out, depth + 1);
            }
        }
    }
    match value {
        Value::Array(items) => {
            let prefix = schema.get("prefixItems").and_then(Value::as_array);
            for (i, item) in items.iter().enumerate() {
                let item_schema = prefix
                    .and_then(|p| p.get(i))
                    .or_else(|| schema.get("items").filter(|s| s.is_object()));
                if let Some(s) = item_schema {
                    file_slots(s, defs, item, format!("{at}/{i}"), out, depth + 1);
                }
            }
        }
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|s| s.is_object());
            for (key, item) in map {
                let item_schema = properties.and_then(|p| p.get(key)).or(additional);
                if let Some(s) = item_schema {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    file_slots(s, defs, item, format!("{at}/{escaped}"), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The `FileData` of the file `text` names.
async fn load(inner: &Arc<Inner>, parts: &Parts, text: &str) -> Result<Value, String> {
    if let Some(data_uri) = text.strip_prefix("data:") {
        let (mime, bytes) = decode_data_uri(data_uri, inner.config.max_file_bytes)?;
        let name = format!("file{}", extension(mime.as_deref()));
        return store(inner, &name, mime, bytes).await;
    }
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        let shown: String = text.chars().take(80).collect();
        return Err(format!(
            "expected a file as an http(s):// URL or a data: URI (data:<mime type>;base64,<bytes>), \
             got {shown:?}"
        ));
    }
    if let Some(path) = own_file(inner, parts, text) {
        if let Some((_, orig_name)) = inner.files.resolve(path.clone()).await {
            return Ok(json!({
                "path": path,
                "orig_name": orig_name,
                "meta": {"_type": "gradio.FileData"},
            }));
        }
    }
    let fetched = fetch(
        text,
        inner.config.max_file_bytes,
        inner.config.mcp_fetch_private,
    )
    .await?;
    let name = url_file_name(text)
        .unwrap_or_else(|| format!("file{}", extension(fetched.content_type.as_deref())));
    store(inner, &name, fetched.content_type, fetched.bytes).await
}

/// The stored path a URL of this server's own `file=` route names, when the URL is this
/// server's (its root, as the request or the public URL gives it).
fn own_file(inner: &Inner, parts: &Parts, url: &str) -> Option<String> {
    let root = request_root(
        &parts.headers,
        inner.config.public_url.as_deref(),
        &inner.config.root_path,
    );
    let marker = format!("{}/file=", inner.config.prefix);
    let rest = url
        .strip_prefix(root.as_str())?
        .strip_prefix(marker.as_str())?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    Some(
        percent_encoding::percent_decode_str(rest)
            .decode_utf8()
            .ok()?
            .into_owned(),
    )
}

/// `data:[<mime>][;base64],<data>`: the MIME type and the bytes, at most `limit` of them.
fn decode_data_uri(rest: &str, limit: u64) -> Result<(Option<String>, Bytes), String> {
    let (head, data) = rest
        .split_once(',')
        .ok_or("a data: URI needs a comma before its data (data:<mime type>;base64,<bytes>)")?;
    let mut params = head.split(';');
    let mime = params
        .next()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let too_large = || format!("the file is larger than this server's limit of {limit} bytes");
    let bytes = if base64 {
        if (data.len() as u64) / 4 * 3 > limit + 3 {
            return Err(too_large());
        }
        let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.as_bytes())
            })
            .map_err(|e| format!("the data: URI is not valid base64: {e}"))?
    } else {
        percent_encoding::percent_decode_str(data).collect()
    };
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok((mime, Bytes::from(bytes)))
}

/// The last path segment of a URL, when it looks like a file name.
fn url_file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let after_scheme = path.split_once("://").map(|(_, r)| r)?;
    let (_, path) = after_scheme.split_once('/')?;
    let last = path.rsplit('/').next()?;
    let name = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!name.is_empty()).then_some(name)
}

/// A file extension for a MIME type (with its dot), or none.
fn extension(mime: Option<&str>) -> &'static str {
    match mime.unwrap_or_default() {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "image/svg+xml" => ".svg",
        "audio/wav" | "audio/x-wav" => ".wav",
        "audio/mpeg" => ".mp3",
        "video/mp4" => ".mp4",
        "application/pdf" => ".pdf",
        "application/json" => ".json",
        "text/csv" => ".csv",
        "text/plain" => ".txt",
        _ => "",
    }
}

/// Stores `bytes` as an upload named `name` and returns its `FileData`.
async fn store(
    inner: &Arc<Inner>,
    name: &str,
    mime: Option<String>,
    bytes: Bytes,
) -> Result<Value, String> {
    if !inner.files.reserve(1) {
        return Err(format!(
            "the server already keeps {} uploaded files, its limit; retry later",
            inner.files.max_files()
        ));
    }
    let written = async {
        let path = inner.files.new_path(name).await?;
        tokio::fs::write(&path, &bytes).await?;
        Ok::<_, std::io::Error>(path)
    }
    .await;
    let path = match written {
        Ok(path) => path,
        Err(e) => {
            inner.files.release(1);
            return Err(format!("the file could not be stored: {e}"));
        }
    };
    let key = inner.files.register(&path, name.to_owned());
    inner
        .files
        .share(&key)
        .await
        .map_err(|e| format!("the file could not be recorded in the shared store: {e}"))?;
    Ok(json!({
        "path": key,
        "orig_name": name,
        "size": bytes.len(),
        "mime_type": mime,
        "meta": {"_type": "gradio.FileData"},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_decode() {
        let (mime, bytes) = decode_data_uri("image/png;base64,aGVsbG8=", 100).unwrap();
        assert_eq!(mime.as_deref(), Some("image/png"));
        assert_eq!(&bytes[..], b"hello");
        let (mime, bytes) = decode_data_uri(",a%20b", 100).unwrap();
        assert_eq!(mime, None);
        assert_eq!(&bytes[..], b"a b");
        assert!(decode_data_uri("text/plain;base64,aGVsbG8=", 3)
            .unwrap_err()
            .contains("limit of 3 bytes"));
        assert!(decode_data_uri("text/plain;base64,@@@", 100)
            .unwrap_err()
            .contains("base64"));
        assert!(decode_data_uri("nocomma", 100).is_err());
    }

    #[test]
    fn file_slots_follow_arrays_unions_and_refs() {
        let mut defs = Defs::new();
        defs.insert("FileData".into(), crate::FileData::json_schema_value());
        let file_ref = json!({"$ref": "#/$defs/FileData"});
        let schema = json!({"type": "array", "items": {"anyOf": [file_ref, {"type": "null"}]}});
        let value = json!(["http://a/x.png", null, "data:,x"]);
        let mut out = Vec::new();
        file_slots(&schema, &defs, &value, String::new(), &mut out, 0);
        out.sort();
        out.dedup();
        assert_eq!(out, vec!["/0".to_owned(), "/2".to_owned()]);
        let object = json!({"type": "object", "properties": {"a/b": file_ref}});
        let mut out = Vec::new();
        file_slots(
            &object,
            &defs,
            &json!({"a/b": "x"}),
            String::new(),
            &mut out,
            0,
        );
        assert_eq!(out, vec!["/a~1b".to_owned()]);
    }

    #[test]
    fn file_names_come_from_urls() {
        assert_eq!(
            url_file_name("http://h/a/b%20c.png?x=1").as_deref(),
            Some("b c.png")
        );
        assert_eq!(url_file_name("http://h/"), None);
        assert_eq!(url_file_name("http://h"), None);
    }
}
