//! The files this server created: where uploads go, which paths may be handed to handlers and
//! served back.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::backend::{Backend, BackendError, FileRecord};

/// A file the server stored.
#[derive(Clone, Debug)]
pub(crate) struct StoredFile {
    pub(crate) orig_name: String,
    /// Created by the upload route (deleted at expiry), not a handler's own file.
    owned: bool,
    /// When a call last used it (or when it was stored); the TTL counts from here.
    used: Instant,
}

/// Uploaded files, keyed by the path string the upload returned.
pub(crate) struct FileStore {
    dir: PathBuf,
    files: DashMap<String, StoredFile>,
    count: AtomicUsize,
    max_files: usize,
    ttl: Duration,
    /// Registered paths, oldest first, for the TTL sweep.
    order: Mutex<VecDeque<(String, Instant)>>,
    /// Directories whose files may also be used and served (canonical paths).
    allowed_dirs: Vec<PathBuf>,
    /// The service created `dir` itself and removes it when dropped.
    remove_dir: bool,
    /// Where the records of files live that other replicas (sharing `dir`) may use.
    backend: Arc<dyn Backend>,
}

/// The longest stored file name, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// A safe file name from a client-given one: the last path part (either separator), without
/// control characters or characters that are special on common file systems. An empty
/// result, `.` and `..` become `file`.
pub(crate) fn sanitize_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let trimmed = out.trim();
    if trimmed.len() != out.len() {
        out = trimmed.to_owned();
    }
    if out.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    if out.is_empty() || out == "." || out == ".." {
        "file".to_owned()
    } else {
        out
    }
}

impl FileStore {
    pub(crate) fn new(
        dir: PathBuf,
        max_files: usize,
        ttl: Duration,
        allowed_dirs: Vec<PathBuf>,
        remove_dir: bool,
        backend: Arc<dyn Backend>,
    ) -> Self {
        Self {
            backend,
            dir,
            files: DashMap::new(),
            count: AtomicUsize::new(0),
            max_files,
            ttl,
            order: Mutex::new(VecDeque::new()),
            allowed_dirs,
            remove_dir,
        }
    }

    /// How often expired uploads should be looked for: a quarter of the TTL, 50 ms to 60 s.
    pub(crate) fn sweep_interval(&self) -> Duration {
        (self.ttl / 4).clamp(Duration::from_millis(50), Duration::from_secs(60))
    }

    /// Unregisters the uploads older than the TTL and returns their paths (with their names)
    /// for deletion.
    pub(crate) fn take_expired(&self, now: Instant) -> Vec<(String, String)> {
        let mut expired = Vec::new();
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        let mut used_since = Vec::new();
        while let Some((_, at)) = order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            let Some((path, _)) = order.pop_front() else {
                break;
            };
            let used = self.files.get(&path).map(|f| f.used);
            match used {
                // Used by a call since: its TTL starts again from that use.
                Some(used) if now.saturating_duration_since(used) < self.ttl => {
                    used_since.push((path, used));
                }
                Some(_) => {
                    if let Some((path, file)) = self.files.remove(&path) {
                        self.count.fetch_sub(1, Ordering::AcqRel);
                        if file.owned {
                            expired.push((path, file.orig_name));
                        }
                    }
                }
                None => {}
            }
        }
        used_since.sort_by_key(|(_, used)| *used);
        for entry in used_since {
            let at = order.partition_point(|(_, t)| *t <= entry.1);
            order.insert(at, entry);
        }
        expired
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh, unique path for an upload named `orig_name`: `<dir>/<32 hex>/<safe name>`.
    /// The subdirectory is created.
    pub(crate) async fn new_path(&self, orig_name: &str) -> std::io::Result<PathBuf> {
        let sub = self.fresh_dir();
        tokio::fs::create_dir_all(&sub).await?;
        Ok(sub.join(sanitize_file_name(orig_name)))
    }

    fn fresh_dir(&self) -> PathBuf {
        self.dir
            .join(crate::event_id::EventId::new_random().to_hex().as_str())
    }

    /// As [`new_path`](Self::new_path), without async (for handlers).
    pub(crate) fn new_path_blocking(&self, orig_name: &str) -> std::io::Result<PathBuf> {
        let sub = self.fresh_dir();
        std::fs::create_dir_all(&sub)?;
        Ok(sub.join(sanitize_file_name(orig_name)))
    }

    /// Reserves room for `n` more files; false when the store is full.
    pub(crate) fn reserve(&self, n: usize) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (c + n <= self.max_files).then_some(c + n)
            })
            .is_ok()
    }

    /// Gives back reserved room that was not used.
    pub(crate) fn release(&self, n: usize) {
        self.count.fetch_sub(n, Ordering::AcqRel);
    }

    /// Records a completely written upload (room must have been reserved).
    pub(crate) fn register(&self, path: &Path, orig_name: String) -> String {
        self.insert(path, orig_name, true)
    }

    /// Makes a file that a handler returned servable for the upload TTL. Files inside the
    /// upload directory (see `CallContext::output_path`) are deleted at expiry; others never.
    /// When the store is full, the oldest entries make room. Returns its key when it was new
    /// (to [`share`](Self::share) once off the blocking pool).
    pub(crate) fn register_output(&self, path: &Path, orig_name: String) -> Option<String> {
        let key = path.to_string_lossy();
        if self.files.contains_key(key.as_ref()) {
            return None;
        }
        if !self.reserve(1) {
            // Full: expire early rather than refuse a result.
            delete_files(&self.take_oldest());
            if !self.reserve(1) {
                return None;
            }
        }
        let owned = path.starts_with(&self.dir);
        Some(self.insert(path, orig_name, owned))
    }

    /// Records the stored file `key` in the backend, so that replicas sharing the upload
    /// directory accept and serve it too.
    pub(crate) async fn share(&self, key: &str) -> Result<(), BackendError> {
        let file = match self.get(key) {
            Some(file) if self.backend.shares_files() => file,
            _ => return Ok(()),
        };
        let record = FileRecord {
            orig_name: file.orig_name,
            owned: file.owned,
        };
        self.backend.record_file(key, record, self.ttl).await
    }

    /// Re-registers an expired upload that another replica used since (its shared record
    /// lives on).
    pub(crate) fn restore(&self, path: &str, orig_name: String) {
        if self.reserve(1) {
            self.insert(Path::new(path), orig_name, true);
        }
    }

    /// Whether the shared record of `path` still lives (another replica used it lately).
    pub(crate) async fn shared_record_lives(&self, path: &str) -> bool {
        self.backend.shares_files() && self.backend.file_record(path, None).await.is_some()
    }

    /// Unregisters an upload (or an output in the upload directory) a call is done with and
    /// returns its path for deletion; `None` for files it did not create, unknown paths, and
    /// when replicas share the files (their records expire them).
    pub(crate) fn discard(&self, key: &str) -> Option<PathBuf> {
        if self.backend.shares_files() {
            return None;
        }
        let owned = self.files.get(key).is_some_and(|f| f.owned);
        if !owned {
            return None;
        }
        let (path, _) = self.files.remove(key)?;
        self.count.fetch_sub(1, Ordering::AcqRel);
        // Its place in the TTL order is skipped when reached.
        Some(PathBuf::from(path))
    }

    /// Unregisters the oldest entry; returns its path when it must be deleted.
    fn take_oldest(&self) -> Vec<PathBuf> {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((path, _)) = order.pop_front() {
            if let Some((_, file)) = self.files.remove(&path) {
                self.count.fetch_sub(1, Ordering::AcqRel);
                return if file.owned {
                    vec![PathBuf::from(path)]
                } else {
                    Vec::new()
                };
            }
        }
        Vec::new()
    }

    fn insert(&self, path: &Path, orig_name: String, owned: bool) -> String {
        let key = path.to_string_lossy().into_owned();
        self.files.insert(
            key.clone(),
            StoredFile {
                orig_name,
                owned,
                used: Instant::now(),
            },
        );
        self.order
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((key.clone(), Instant::now()));
        key
    }

    pub(crate) fn max_files(&self) -> usize {
        self.max_files
    }

    /// The uploaded file stored under exactly this path, if any.
    pub(crate) fn get(&self, path: &str) -> Option<StoredFile> {
        self.files.get(path).map(|f| f.clone())
    }

    /// Whether a stored path is still the regular file the service wrote: not replaced by a
    /// symlink (to anywhere) or a directory. Uploads are stored under their canonical path,
    /// so any link on the way shows up as a different canonical path.
    fn still_genuine(&self, path: &str) -> bool {
        self.files
            .get(path)
            .map(|f| f.owned)
            .is_some_and(|owned| genuine(path, owned))
    }

    /// A file another replica created (its shared `record`), if it is genuine here: then it
    /// is registered here too, as not ours to delete.
    fn adopt(&self, path: &str, record: FileRecord) -> Option<(PathBuf, String)> {
        if !genuine(path, record.owned) || !self.reserve(1) {
            return None;
        }
        self.insert(Path::new(path), record.orig_name.clone(), false);
        Some((PathBuf::from(path), record.orig_name))
    }

    /// Marks the use of an upload by a call: its TTL starts again, here and in its shared
    /// record.
    pub(crate) async fn mark_used(&self, path: &str) {
        if let Some(mut file) = self.files.get_mut(path) {
            file.used = Instant::now();
        }
        if self.backend.shares_files() {
            let _ = self.backend.file_record(path, Some(self.ttl)).await;
        }
    }

    /// The file behind `path`, if the service may hand it out: an upload (or output) of ours
    /// that is still the regular file it wrote, or a regular file inside an allowed directory
    /// (after resolving symlinks). Returns the path to open and the name to show. Blocking
    /// (it reads the filesystem): call it through [`resolve`](Self::resolve) or
    /// [`resolve_all`](Self::resolve_all).
    fn resolve_blocking(&self, path: &str) -> Option<(PathBuf, String)> {
        if let Some(stored) = self.get(path) {
            return self
                .still_genuine(path)
                .then(|| (PathBuf::from(path), stored.orig_name));
        }
        let allowed = self.allowed_file(path)?;
        let name = allowed
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some((allowed, name))
    }

    /// [`resolve_blocking`](Self::resolve_blocking) on the blocking pool, then, for a path
    /// this replica does not know, the backend's shared record (a file another replica
    /// created in the shared upload directory): what `file=` serving and a call's `FileData`
    /// arguments go through.
    pub(crate) async fn resolve(self: &Arc<Self>, path: String) -> Option<(PathBuf, String)> {
        let files = self.clone();
        let (path, found) = tokio::task::spawn_blocking(move || {
            let found = files.resolve_blocking(&path);
            (path, found)
        })
        .await
        .ok()?;
        if found.is_some() || !self.backend.shares_files() {
            return found;
        }
        let record = self.backend.file_record(&path, None).await?;
        let files = self.clone();
        tokio::task::spawn_blocking(move || files.adopt(&path, record))
            .await
            .ok()
            .flatten()
    }

    /// The first of `paths` that the service may not hand out, checked as `file=` serving
    /// checks them.
    pub(crate) async fn first_refused<T: Send + 'static>(
        self: &Arc<Self>,
        paths: Vec<(T, String)>,
    ) -> Option<(T, String)> {
        for (index, path) in paths {
            if self.resolve(path.clone()).await.is_none() {
                return Some((index, path));
            }
        }
        None
    }

    /// The canonical path of a regular file inside an allowed directory.
    fn allowed_file(&self, path: &str) -> Option<PathBuf> {
        if self.allowed_dirs.is_empty() || path.contains('\0') {
            return None;
        }
        let canonical = std::fs::canonicalize(path).ok()?;
        let inside = self.allowed_dirs.iter().any(|d| canonical.starts_with(d));
        (inside && canonical.is_file()).then_some(canonical)
    }
}

/// Whether `path` is a regular file, reached without a symlink when the service wrote it.
fn genuine(path: &str, owned: bool) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    !owned || std::fs::canonicalize(path).is_ok_and(|c| c == Path::new(path))
}

/// Deletes stored files and their per-file directories (once empty).
pub(crate) fn delete_files(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for FileStore {
    /// Removes the files this service created when the service goes away: the whole upload
    /// directory when the service made it, else each file it stored.
    fn drop(&mut self) {
        // Other replicas may still use the files: their shared records expire them.
        if self.backend.shares_files() {
            return;
        }
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        for entry in self.files.iter() {
            if entry.value().owned {
                let path = Path::new(entry.key());
                let _ = std::fs::remove_file(path);
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir(dir);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitize_file_name("second copy.txt"), "second copy.txt");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\x\\a.csv"), "a.csv");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_file_name(""), "file");
        assert_eq!(sanitize_file_name("dir/"), "file");
        assert!(sanitize_file_name(&"é".repeat(300)).len() <= MAX_NAME_BYTES);
    }
}
