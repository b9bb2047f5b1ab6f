//! Gradio's `FileData`: how files travel as arguments and results.

use std::borrow::Cow;
use std::path::Path;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The marker Gradio puts in `meta._type`.
pub const FILE_DATA_TYPE: &str = "gradio.FileData";

/// A file argument or result, in Gradio's `FileData` shape.
///
/// As a parameter type, it is advertised in `/info` as component `File` with python type
/// `filepath`, and the service accepts only paths that it created itself (files uploaded with
/// `POST {prefix}/upload`) or that lie in a directory allowed with
/// [`Builder::allow_dir`](crate::Builder::allow_dir). Anything else is refused with 422 before
/// the handler runs, so `path` can be opened without further checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileData {
    /// The server path of the file.
    pub path: String,
    /// A URL where the file can be fetched.
    #[serde(default)]
    pub url: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// The file's name before upload.
    #[serde(default)]
    pub orig_name: Option<String>,
    /// The MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Whether the file is a stream.
    #[serde(default)]
    pub is_stream: bool,
    /// Always `{"_type": "gradio.FileData"}`.
    #[serde(default = "FileMeta::gradio")]
    pub meta: FileMeta,
}

/// The `meta` field of [`FileData`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Always `"gradio.FileData"`.
    #[serde(rename = "_type")]
    pub type_: String,
}

impl FileMeta {
    fn gradio() -> Self {
        Self {
            type_: FILE_DATA_TYPE.to_owned(),
        }
    }
}

impl Default for FileMeta {
    fn default() -> Self {
        Self::gradio()
    }
}

impl FileData {
    /// A `FileData` for a server path, with the original name taken from the path.
    pub fn from_path(path: impl Into<String>) -> Self {
        let path = path.into();
        let orig_name = Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        Self {
            path,
            orig_name,
            ..Self::default()
        }
    }

    /// The name to show for this file: `orig_name` when given, else the path's last part.
    pub fn display_name(&self) -> String {
        self.orig_name
            .as_deref()
            .and_then(|n| Path::new(n).file_name())
            .or_else(|| Path::new(&self.path).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Gradio's JSON Schema for `FileData`, for raw endpoints that take or return files.
    pub fn json_schema_value() -> Value {
        file_data_schema().to_value()
    }
}

const FILE_DATA_DESCRIPTION: &str = "A file uploaded with POST /gradio_api/upload: \
{\"path\": <a path that the upload returned>, \"meta\": {\"_type\": \"gradio.FileData\"}}. \
Other fields (url, size, orig_name, mime_type, is_stream) are optional.";

fn file_data_schema() -> Schema {
    json_schema!({
        "title": "FileData",
        "type": "object",
        "description": FILE_DATA_DESCRIPTION,
        "properties": {
            "path": {"title": "Path", "type": "string"},
            "url": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Url"},
            "size": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Size"},
            "orig_name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Orig Name"},
            "mime_type": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Mime Type"},
            "is_stream": {"default": false, "title": "Is Stream", "type": "boolean"},
            "meta": {
                "title": "FileDataMeta",
                "type": "object",
                "properties": {"_type": {"const": FILE_DATA_TYPE, "title": "Type", "type": "string"}},
                "required": ["_type"]
            }
        },
        "required": ["path"]
    })
}

impl JsonSchema for FileData {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "FileData".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        file_data_schema()
    }
}

/// Is this (resolved) schema Gradio's FileData?
pub(crate) fn is_file_schema(schema: &Value) -> bool {
    schema.get("title").and_then(Value::as_str) == Some("FileData")
        && schema.pointer("/properties/path").is_some()
}

/// Gradio's python-type description for file parameters.
pub(crate) fn file_description() -> &'static str {
    FILE_DATA_DESCRIPTION
}
