//! Artifact endpoints, as Trackio 0.43's client uses them for `log_artifact` and
//! `use_artifact`: which blobs the server lacks, their upload, the version commit, the
//! manifest of a version, a run's use of one, the list; and `GET
//! /artifact_blob/{project}/{digest}`, where `Artifact.download()` fetches blobs.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use gradio_compat::{CallContext, FileData, Registry};
use http::{header, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::media::{blob_path, place, sha256_of};
use super::tracker::store::artifacts::{is_sha256, NewVersion};
use super::tracker::{on_store, Tracker};
use super::ProjectArgs;

/// Which of these blobs does the project lack?
#[derive(Deserialize, JsonSchema)]
pub struct CheckBlobsArgs {
    /// The project name.
    pub project: String,
    /// SHA-256 digests, in lowercase hex.
    pub digests: Vec<String>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[serde(default)]
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// One blob upload.
#[derive(Deserialize, JsonSchema)]
pub struct BlobUpload {
    /// The project (Trackio's client repeats it here).
    #[serde(default)]
    #[allow(dead_code)] // the call's project decides
    pub project: Option<String>,
    /// The file's SHA-256, in lowercase hex; the file must match it.
    pub digest: String,
    /// The uploaded file.
    pub uploaded_file: FileData,
}

/// Keep uploaded artifact blobs, each checked against its digest.
#[derive(Deserialize, JsonSchema)]
pub struct BlobUploadArgs {
    /// The project name.
    pub project: String,
    /// The blobs.
    pub uploads: Vec<BlobUpload>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

/// Commit a version of an artifact whose blobs the server holds.
#[derive(Deserialize, JsonSchema)]
pub struct ArtifactLogArgs {
    /// The project name.
    pub project: String,
    /// The artifact's name.
    pub name: String,
    /// Its type (fixed by its first version), e.g. `model` or `dataset`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A description.
    pub description: Option<String>,
    /// Free metadata.
    pub metadata: Option<Map<String, Value>>,
    /// The files: `{path, digest, size}` each (`ref` for a reference).
    pub manifest: Vec<Value>,
    /// Aliases to put on this version (`latest` moves by itself).
    pub aliases: Option<Vec<String>>,
    /// The run that made it.
    pub run_name: Option<String>,
    /// That run's id.
    pub run_id: Option<String>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
    /// Remove every other version of this artifact.
    #[serde(default)]
    pub overwrite: bool,
}

/// The record of one version of an artifact, or null.
#[derive(Deserialize, JsonSchema)]
pub struct ManifestArgs {
    /// The project name.
    pub project: String,
    /// The artifact's name.
    pub name: String,
    /// `vN`, an alias, or null for `latest`.
    #[serde(default)]
    pub spec: Option<String>,
}

/// Record that a run used a version.
#[derive(Deserialize, JsonSchema)]
pub struct UseArgs {
    /// The project name.
    pub project: String,
    /// The version's id (`version_id` of its record).
    pub version_id: i64,
    /// The run.
    pub run_name: Option<String>,
    /// The run's id.
    pub run_id: Option<String>,
    /// A write token; when omitted, the bearer token of the request is used.
    #[allow(dead_code)] // judged by the authorize hook, before the handler runs
    pub hf_token: Option<String>,
}

fn checked(digests: &[String]) -> Result<(), String> {
    match digests.iter().find(|d| !is_sha256(d)) {
        Some(d) => Err(format!(
            "invalid sha256 digest {d:?}: expected 64 lowercase hex digits"
        )),
        None => Ok(()),
    }
}

/// Adds the endpoints.
pub fn register(registry: Registry, t: &Arc<Tracker>) -> Registry {
    let t_blobs = t.clone();
    registry
        .typed(
            "check_artifact_blobs",
            on_store(t, |s, a: CheckBlobsArgs| {
                checked(&a.digests)?;
                Ok(json!({"present": s.blobs_present(&a.project, &a.digests)?}))
            }),
        )
        .typed(
            "bulk_upload_artifact_blob",
            move |a: BlobUploadArgs, ctx: CallContext| {
                let t = t_blobs.clone();
                async move {
                    let blobs = t.blob_dir();
                    let files: Vec<FileData> =
                        a.uploads.iter().map(|u| u.uploaded_file.clone()).collect();
                    let project = a.project.clone();
                    let stored = tokio::task::spawn_blocking(move || {
                        let mut stored = Vec::new();
                        for (i, u) in a.uploads.iter().enumerate() {
                            checked(std::slice::from_ref(&u.digest))?;
                            let from = std::path::Path::new(&u.uploaded_file.path);
                            let (digest, size) = sha256_of(from)?;
                            if digest != u.digest {
                                return Err(format!(
                                    "upload {i}: the file's sha256 is {digest}, not {}",
                                    u.digest
                                ));
                            }
                            place(from, &blob_path(&blobs, &a.project, &digest))?;
                            stored.push((digest, size));
                        }
                        Ok::<_, String>(stored)
                    })
                    .await
                    .map_err(|e| format!("the blob work failed: {e}"))??;
                    t.with_store(move |s| {
                        for (digest, size) in stored {
                            s.add_blob(&project, &digest, size)?;
                        }
                        Ok(())
                    })
                    .await?;
                    for file in &files {
                        ctx.discard_upload(file).await;
                    }
                    Ok::<_, String>(())
                }
            },
        )
        .typed(
            "artifact_log",
            on_store(t, |s, a: ArtifactLogArgs| {
                if a.name.trim().is_empty() || a.name.contains(['/', ':']) {
                    return Err(format!(
                        "artifact name {:?} must be non-empty, without '/' or ':'",
                        a.name
                    ));
                }
                if a.kind.is_empty() {
                    return Err("the artifact type must be a non-empty string".into());
                }
                s.commit_version(NewVersion {
                    project: a.project,
                    name: a.name,
                    kind: a.kind,
                    description: a.description,
                    metadata: a.metadata,
                    manifest: a.manifest,
                    aliases: a.aliases.unwrap_or_default(),
                    run_name: a.run_name,
                    run_id: a.run_id,
                    overwrite: a.overwrite,
                })
            }),
        )
        .typed(
            "get_artifact_manifest",
            on_store(t, |s, a: ManifestArgs| {
                s.manifest_record(&a.project, &a.name, a.spec.as_deref())
            }),
        )
        .typed(
            "log_artifact_use",
            on_store(t, |s, a: UseArgs| {
                s.link_use(
                    &a.project,
                    a.version_id,
                    a.run_name.as_deref(),
                    a.run_id.as_deref(),
                )
            }),
        )
        .typed(
            "get_artifacts",
            on_store(t, |s, a: ProjectArgs| s.artifacts(&a.project)),
        )
}

/// `GET /artifact_blob/{project}/{digest}`: a blob the project holds, or a JSON 404.
pub async fn blob(
    State(tracker): State<Arc<Tracker>>,
    UrlPath((project, digest)): UrlPath<(String, String)>,
) -> Response {
    let not_found = |why: String| {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "error": why }).to_string(),
        )
            .into_response()
    };
    if !is_sha256(&digest) {
        return not_found(format!(
            "{digest:?} is not a sha256 digest (64 lowercase hex digits)"
        ));
    }
    let path = blob_path(&tracker.blob_dir(), &project, &digest);
    let (file, len) = match tokio::fs::File::open(&path).await {
        Ok(file) => match file.metadata().await {
            Ok(meta) => (file, meta.len()),
            Err(e) => return not_found(format!("the blob {digest} cannot be read: {e}")),
        },
        Err(_) => {
            return not_found(format!(
                "no blob {digest} in project {project:?}; upload it with bulk_upload_artifact_blob"
            ))
        }
    };
    // Streamed in chunks: a blob may be larger than memory should hold at once.
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}
