//! Files in results: every `FileData` a handler returns is completed (`url` under
//! `{prefix}/file=`, `size`, `orig_name`) and registered so that `file=` serves it.

use std::path::Path;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::files::data::FILE_DATA_TYPE;
use crate::files::FileStore;

/// Characters left as they are in the `file=` URL of a path.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The URL under which `file=` serves `path`.
pub(crate) fn file_url(root: &str, prefix: &str, path: &str) -> String {
    format!("{root}{prefix}/file={}", utf8_percent_encode(path, PATH))
}

/// Whether a JSON object is a Gradio `FileData` (a string `path` and the `meta._type` marker).
pub(crate) fn is_file_data(object: &serde_json::Map<String, Value>) -> bool {
    object.get("path").is_some_and(Value::is_string)
        && object
            .get("meta")
            .and_then(|m| m.get("_type"))
            .and_then(Value::as_str)
            == Some(FILE_DATA_TYPE)
}

/// Completes the FileData objects in an encoded output list. Returns the new list and the
/// files newly registered (to share with other replicas).
pub(crate) fn complete_files(
    data: Bytes,
    root: &str,
    prefix: &str,
    files: &FileStore,
) -> Result<(Bytes, Vec<String>), String> {
    let mut registered = Vec::new();
    let mut value: Value =
        serde_json::from_slice(&data).map_err(|e| format!("the result is not valid JSON: {e}"))?;
    let mut changed = false;
    visit(&mut value, 0, &mut |object| {
        let path = object
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let meta = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file())
            .ok_or_else(|| {
                format!("the handler returned the file {path:?}, which does not exist")
            })?;
        let orig_name = match object.get("orig_name").and_then(Value::as_str) {
            Some(name) => name.to_owned(),
            None => Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        registered.extend(files.register_output(Path::new(&path), orig_name.clone()));
        object.insert("url".into(), Value::from(file_url(root, prefix, &path)));
        object.insert("size".into(), Value::from(meta.len()));
        object.insert("orig_name".into(), Value::from(orig_name));
        object.entry("mime_type").or_insert(Value::Null);
        object.insert("is_stream".into(), Value::Bool(false));
        changed = true;
        Ok(())
    })?;
    if !changed {
        return Ok((data, registered));
    }
    serde_json::to_vec(&value)
        .map(|v| (Bytes::from(v), registered))
        .map_err(|e| format!("the result could not be encoded: {e}"))
}

/// What `visit` does to each FileData object.
type FileVisitor<'a> = dyn FnMut(&mut serde_json::Map<String, Value>) -> Result<(), String> + 'a;

fn visit(value: &mut Value, depth: usize, f: &mut FileVisitor<'_>) -> Result<(), String> {
    if depth > 64 {
        return Ok(());
    }
    match value {
        Value::Object(object) if is_file_data(object) => f(object),
        Value::Object(object) => object.values_mut().try_for_each(|v| visit(v, depth + 1, f)),
        Value::Array(items) => items.iter_mut().try_for_each(|v| visit(v, depth + 1, f)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_the_path() {
        assert_eq!(
            file_url("http://h:1", "/gradio_api", "/tmp/a b/c?.txt"),
            "http://h:1/gradio_api/file=/tmp/a%20b/c%3F.txt"
        );
    }
}
