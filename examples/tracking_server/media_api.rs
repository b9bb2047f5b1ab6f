//! Media endpoints: `bulk_upload_media` takes the files that `trackio.Image`, `Audio`,
//! `Video`, `Table` and `trackio.save` refer to, already uploaded with `POST
//! /gradio_api/upload` (Trackio's client does that), and keeps them under the data directory
//! where a logged value's `file_path` names them; `get_settings` says where that is.

use std::sync::Arc;

use gradio_compat::{CallContext, FileData, NoArgs, Registry};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::{media_path, place};
use super::tracker::Tracker;

/// One media file, as Trackio's client sends it.
#[derive(Deserialize, JsonSchema)]
pub struct MediaUpload {
    /// The project name.
    pub project: String,
    /// The run it was logged in; none for files saved for the project (`trackio.save`).
    #[serde(default)]
    pub run: Option<String>,
    /// Trackio's run id.
    #[serde(default)]
    #[allow(dead_code)] // files are laid out by run name, as in Trackio
    pub run_id: Option<String>,
    /// The step it was logged at.
    #[serde(default)]
    pub step: Option<i64>,
    /// For project files: the folder inside the project's `files`.
    #[serde(default)]
    pub relative_path: Option<String>,
    /// The uploaded file; its `orig_name` is the name the logged value refers to.
    pub uploaded_file: FileData,
}

/// Keep uploaded media files where their logged values point.
#[derive(Deserialize, JsonSchema)]
pub struct BulkUploadMediaArgs {
    /// The files.
    pub uploads: Vec<MediaUpload>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// Adds the endpoints.
pub fn register(registry: Registry, t: &Arc<Tracker>) -> Registry {
    let (t_upload, t_settings) = (t.clone(), t.clone());
    registry
        .typed(
            "bulk_upload_media",
            move |a: BulkUploadMediaArgs, ctx: CallContext| {
                let media = t_upload.media_dir();
                async move {
                    let files: Vec<FileData> =
                        a.uploads.iter().map(|u| u.uploaded_file.clone()).collect();
                    tokio::task::spawn_blocking(move || {
                        for (i, u) in a.uploads.iter().enumerate() {
                            let to = media_path(
                                &media,
                                &u.project,
                                u.run.as_deref(),
                                u.step,
                                u.relative_path.as_deref(),
                                &u.uploaded_file.display_name(),
                            )
                            .map_err(|e| format!("upload {i}: {e}"))?;
                            place(std::path::Path::new(&u.uploaded_file.path), &to)
                                .map_err(|e| format!("upload {i}: {e}"))?;
                        }
                        Ok::<_, String>(())
                    })
                    .await
                    .map_err(|e| format!("the media work failed: {e}"))??;
                    // Kept here now: their room in the upload store is free again.
                    for file in &files {
                        ctx.discard_upload(file).await;
                    }
                    Ok::<_, String>(())
                }
            },
        )
        .typed("get_settings", move |_: NoArgs, _: CallContext| {
            let media = t_settings.media_dir();
            async move {
                let dir = std::path::absolute(&media).unwrap_or(media);
                let shown = dir.to_string_lossy().into_owned();
                Ok::<Value, String>(json!({
                    "media_dir": shown,
                    "media_url": format!("/gradio_api/file={shown}/"),
                    "plot_order": [],
                    "table_truncate_length": 250,
                    "space_id": null,
                }))
            }
        })
}
