//! Trackio's artifacts: content-addressed blobs (their files are kept by `media.rs`), versions
//! of a named artifact with a manifest of `{path, digest, size}`, aliases (`latest` follows
//! the newest version) and the runs that made or used each version.

use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{now_iso, Sql, Store};

/// A new version, as `artifact_log` takes it.
pub struct NewVersion {
    pub project: String,
    pub name: String,
    pub kind: String,
    pub description: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub manifest: Vec<Value>,
    pub aliases: Vec<String>,
    pub run_name: Option<String>,
    pub run_id: Option<String>,
    pub overwrite: bool,
}

/// One manifest entry as stored: a file (by digest) or a reference (`ref`).
#[derive(Deserialize)]
struct Entry {
    path: String,
    digest: String,
    size: u64,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
}

/// Whether `digest` is a SHA-256 in lowercase hex.
pub fn is_sha256(digest: &str) -> bool {
    digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The manifest sorted by path with only its stored fields, its digest (the SHA-256 of its
/// compact JSON with sorted keys, as Trackio computes it) and its total size.
fn canonical(manifest: &[Value]) -> Result<(Vec<Value>, String, u64, Vec<String>), String> {
    let mut entries = Vec::with_capacity(manifest.len());
    for (i, raw) in manifest.iter().enumerate() {
        let e = Entry::deserialize(raw).map_err(|err| {
            format!("manifest entry {i} must be {{path, digest, size[, ref]}}: {err}")
        })?;
        if e.path.is_empty() || e.path.starts_with('/') || e.path.split('/').any(|p| p == "..") {
            return Err(format!(
                "manifest entry {i}: {:?} is not a relative path",
                e.path
            ));
        }
        if e.reference.is_none() && !is_sha256(&e.digest) {
            return Err(format!(
                "manifest entry {i}: invalid sha256 digest {:?}",
                e.digest
            ));
        }
        entries.push(e);
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(format!("the manifest names {:?} twice", w[0].path));
    }
    let mut size = 0u64;
    let mut files = Vec::new();
    let stored: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            size = size.saturating_add(e.size);
            // serde_json's map is ordered by insertion here: insert in sorted key order.
            let mut m = Map::new();
            m.insert("digest".into(), Value::String(e.digest.clone()));
            m.insert("path".into(), Value::String(e.path));
            if let Some(r) = e.reference {
                m.insert("ref".into(), Value::String(r));
            } else {
                files.push(e.digest);
            }
            m.insert("size".into(), Value::from(e.size));
            Value::Object(m)
        })
        .collect();
    let text = serde_json::to_string(&stored).map_err(|e| e.to_string())?;
    let digest = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // The manifest is stored with Trackio's field order: path, digest, size, ref.
    let stored = stored
        .into_iter()
        .map(|mut v| {
            let m = v.as_object_mut().map(std::mem::take).unwrap_or_default();
            let mut out = Map::new();
            for key in ["path", "digest", "size", "ref"] {
                if let Some(x) = m.get(key) {
                    out.insert(key.into(), x.clone());
                }
            }
            v = Value::Object(out);
            v
        })
        .collect();
    Ok((stored, digest, size, files))
}

impl Store {
    /// Which of `digests` the project holds.
    pub fn blobs_present(&self, project: &str, digests: &[String]) -> Result<Vec<String>, String> {
        let mut q = self
            .conn
            .prepare_cached("SELECT 1 FROM artifact_blobs WHERE project = ?1 AND digest = ?2")
            .sql()?;
        let mut present = Vec::new();
        for d in digests {
            if q.query_row(params![project, d], |_| Ok(()))
                .optional()
                .sql()?
                .is_some()
            {
                present.push(d.clone());
            }
        }
        Ok(present)
    }

    /// Records a blob whose file is in place.
    pub fn add_blob(&mut self, project: &str, digest: &str, size: u64) -> Result<(), String> {
        self.conn
            .execute(
                "INSERT INTO artifact_blobs (project, digest, size) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
                params![project, digest, size as i64],
            )
            .sql()
            .map(|_| ())
    }

    /// Commits a version (or finds the version with the same content) and returns its record.
    pub fn commit_version(&mut self, v: NewVersion) -> Result<Value, String> {
        if v.manifest.is_empty() {
            return Err("the artifact manifest must be a non-empty list of entries".into());
        }
        let (manifest, digest, size, files) = canonical(&v.manifest)?;
        let present = self.blobs_present(&v.project, &files)?;
        let missing: Vec<&String> = files.iter().filter(|d| !present.contains(d)).collect();
        if !missing.is_empty() {
            let shown: Vec<&&String> = missing.iter().take(5).collect();
            return Err(format!(
                "Manifest references blobs not on server: {shown:?}{}; upload them with \
                 bulk_upload_artifact_blob first",
                if missing.len() > 5 { "..." } else { "" }
            ));
        }
        let now = now_iso();
        let tx = self.conn.transaction().sql()?;
        let kind: Option<String> = tx
            .query_row(
                "SELECT type FROM artifact_versions WHERE project = ?1 AND name = ?2 LIMIT 1",
                params![v.project, v.name],
                |r| r.get(0),
            )
            .optional()
            .sql()?;
        if let Some(kind) = kind.filter(|k| *k != v.kind) {
            return Err(format!(
                "artifact {:?} has type {kind:?}, not {:?}",
                v.name, v.kind
            ));
        }
        if let Some(d) = &v.description {
            tx.execute(
                "UPDATE artifact_versions SET description = ?3 WHERE project = ?1 AND name = ?2",
                params![v.project, v.name, d],
            )
            .sql()?;
        }
        let metadata = v
            .metadata
            .filter(|m| !m.is_empty())
            .map(|m| Value::Object(m).to_string());
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, version FROM artifact_versions WHERE project = ?1 AND name = ?2 \
                 AND manifest_digest = ?3",
                params![v.project, v.name, digest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .sql()?;
        let (version_id, version, created) = match existing {
            Some((id, version)) => {
                if let Some(m) = &metadata {
                    tx.execute(
                        "UPDATE artifact_versions SET metadata = ?2 WHERE id = ?1",
                        params![id, m],
                    )
                    .sql()?;
                }
                (id, version, false)
            }
            None => {
                let next: i64 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(version) + 1, 0) FROM artifact_versions \
                         WHERE project = ?1 AND name = ?2",
                        params![v.project, v.name],
                        |r| r.get(0),
                    )
                    .sql()?;
                tx.execute(
                    "INSERT INTO artifact_versions (project, name, type, description, version, \
                     manifest, manifest_digest, metadata, size_bytes, producer_run_id, \
                     producer_run_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        v.project,
                        v.name,
                        v.kind,
                        v.description,
                        next,
                        Value::Array(manifest).to_string(),
                        digest,
                        metadata,
                        size as i64,
                        v.run_id,
                        v.run_name,
                        now
                    ],
                )
                .sql()?;
                (tx.last_insert_rowid(), next, true)
            }
        };
        if v.overwrite {
            tx.execute(
                "DELETE FROM artifact_aliases WHERE project = ?1 AND name = ?2",
                params![v.project, v.name],
            )
            .sql()?;
            tx.execute(
                "DELETE FROM run_artifact_links WHERE project = ?1 AND version_id IN \
                 (SELECT id FROM artifact_versions WHERE project = ?1 AND name = ?2 AND id != ?3)",
                params![v.project, v.name, version_id],
            )
            .sql()?;
            tx.execute(
                "DELETE FROM artifact_versions WHERE project = ?1 AND name = ?2 AND id != ?3",
                params![v.project, v.name, version_id],
            )
            .sql()?;
        }
        let set_alias = "INSERT INTO artifact_aliases (project, name, alias, version_id) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (project, name, alias) \
                         DO UPDATE SET version_id = excluded.version_id";
        if created || v.overwrite {
            tx.execute(set_alias, params![v.project, v.name, "latest", version_id])
                .sql()?;
        }
        for alias in &v.aliases {
            // An alias moves forward only: re-logging older content does not drag it back.
            let current: Option<i64> = tx
                .query_row(
                    "SELECT av.version FROM artifact_aliases aa JOIN artifact_versions av \
                     ON av.id = aa.version_id WHERE aa.project = ?1 AND aa.name = ?2 AND aa.alias = ?3",
                    params![v.project, v.name, alias],
                    |r| r.get(0),
                )
                .optional()
                .sql()?;
            if current.is_none_or(|c| c <= version) {
                tx.execute(set_alias, params![v.project, v.name, alias, version_id])
                    .sql()?;
            }
        }
        tx.execute(
            "INSERT INTO run_artifact_links (project, run_id, run_name, version_id, direction, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'output', ?5)",
            params![v.project, v.run_id, v.run_name, version_id, now],
        )
        .sql()?;
        tx.commit().sql()?;
        self.manifest_record(&v.project, &v.name, Some(&format!("v{version}")))?
            .ok_or_else(|| "the committed version cannot be read back".to_owned())
    }

    /// The record of one version: `spec` is `vN`, an alias, or none for `latest`.
    pub fn manifest_record(
        &self,
        project: &str,
        name: &str,
        spec: Option<&str>,
    ) -> Result<Option<Value>, String> {
        let spec = spec.filter(|s| !s.is_empty()).unwrap_or("latest");
        let number = spec
            .strip_prefix('v')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<i64>().ok());
        let id: Option<i64> = match number {
            Some(n) => self
                .conn
                .query_row(
                    "SELECT id FROM artifact_versions WHERE project = ?1 AND name = ?2 AND version = ?3",
                    params![project, name, n],
                    |r| r.get(0),
                )
                .optional()
                .sql()?,
            None => self
                .conn
                .query_row(
                    "SELECT version_id FROM artifact_aliases WHERE project = ?1 AND name = ?2 AND alias = ?3",
                    params![project, name, spec],
                    |r| r.get(0),
                )
                .optional()
                .sql()?,
        };
        let Some(id) = id else { return Ok(None) };
        let record = self
            .conn
            .query_row(
                "SELECT id, version, name, type, description, manifest, manifest_digest, metadata, \
                 size_bytes, producer_run_id, producer_run_name, created_at, \
                 (SELECT MIN(id) FROM artifact_versions o WHERE o.project = v.project AND o.name = v.name) \
                 FROM artifact_versions v WHERE id = ?1",
                [id],
                |r| {
                    let manifest: String = r.get(5)?;
                    let metadata: Option<String> = r.get(7)?;
                    Ok(json!({
                        "artifact_id": r.get::<_, i64>(12)?,
                        "version_id": r.get::<_, i64>(0)?,
                        "version": r.get::<_, i64>(1)?,
                        "name": r.get::<_, String>(2)?,
                        "type": r.get::<_, String>(3)?,
                        "description": r.get::<_, Option<String>>(4)?,
                        "manifest": serde_json::from_str::<Value>(&manifest).unwrap_or(Value::Null),
                        "manifest_digest": r.get::<_, String>(6)?,
                        "metadata": metadata.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
                        "size_bytes": r.get::<_, i64>(8)?,
                        "producer_run_id": r.get::<_, Option<String>>(9)?,
                        "producer_run_name": r.get::<_, Option<String>>(10)?,
                        "created_at": r.get::<_, String>(11)?,
                    }))
                },
            )
            .sql()?;
        let mut record = record;
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT alias FROM artifact_aliases WHERE version_id = ?1 ORDER BY alias",
            )
            .sql()?;
        let aliases: Vec<String> = q
            .query_map([id], |r| r.get(0))
            .sql()?
            .collect::<Result<_, _>>()
            .sql()?;
        record["aliases"] = json!(aliases);
        Ok(Some(record))
    }

    /// Records that a run used a version.
    pub fn link_use(
        &mut self,
        project: &str,
        version_id: i64,
        run_name: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<(), String> {
        let known: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM artifact_versions WHERE project = ?1 AND id = ?2)",
                params![project, version_id],
                |r| r.get(0),
            )
            .sql()?;
        if !known {
            return Err(format!(
                "no artifact version {version_id} in project {project:?}"
            ));
        }
        self.conn
            .execute(
                "INSERT INTO run_artifact_links (project, run_id, run_name, version_id, direction, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 'input', ?5)",
                params![project, run_id, run_name, version_id, now_iso()],
            )
            .sql()
            .map(|_| ())
    }

    /// Trackio's artifact list: per name, its latest version, count, aliases and size.
    pub fn artifacts(&self, project: &str) -> Result<Vec<Value>, String> {
        let mut q = self
            .conn
            .prepare_cached(
                "SELECT name, type, MAX(description), COUNT(*), MAX(version), MIN(created_at), \
                 (SELECT size_bytes FROM artifact_versions l WHERE l.project = v.project AND l.name = v.name \
                  ORDER BY version DESC LIMIT 1), \
                 (SELECT json_group_array(alias) FROM (SELECT DISTINCT alias FROM artifact_aliases a \
                  WHERE a.project = v.project AND a.name = v.name ORDER BY alias)) \
                 FROM artifact_versions v WHERE project = ?1 GROUP BY name ORDER BY name",
            )
            .sql()?;
        let rows = q
            .query_map([project], |r| {
                let aliases: String = r.get(7)?;
                Ok(json!({
                    "name": r.get::<_, String>(0)?,
                    "type": r.get::<_, String>(1)?,
                    "description": r.get::<_, Option<String>>(2)?,
                    "num_versions": r.get::<_, i64>(3)?,
                    "latest_version": r.get::<_, i64>(4)?,
                    "size_bytes": r.get::<_, Option<i64>>(6)?,
                    "aliases": serde_json::from_str::<Value>(&aliases).unwrap_or_else(|_| json!([])),
                    "created_at": r.get::<_, String>(5)?,
                }))
            })
            .sql()?;
        rows.collect::<Result<_, _>>().sql()
    }
}
